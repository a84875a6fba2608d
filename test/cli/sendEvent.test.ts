/**
 * `send-event --resource-id` checks the id before anything is sent, naming what is wrong (#11 §5). Nothing here
 * reaches a queue: the check runs first, so an unreachable connection proves no message was attempted.
 */
import { describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../shared/cli/main.js';
import { validateResourceId } from '../../shared/cli/queueCommands.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';

describe('send-event --resource-id', () => {
  it.each([
    ['resourceGroups/rg/providers/Microsoft.Web/sites/x', /must start with \/subscriptions\//],
    [`/subscriptions/${SUB}/resourceGroups`, /missing the resource group name/],
    [`/subscriptions/${SUB}/resourceGroups/rg/Microsoft.Web/sites/x`, /expected "providers" at segment 5, found "Microsoft.Web"/],
    ['/subscriptions/my-subscription/resourceGroups/rg', /"my-subscription" is not a subscription id \(a GUID/],
  ])('rejects %s', (id, reason) => {
    expect(() => validateResourceId(id)).toThrow(reason);
    expect(() => validateResourceId(id)).toThrow(/^--resource-id: /);
  });

  it('accepts subscription, group, resource and child ids, with the legal characters Azure allows', () => {
    for (const id of [
      `/subscriptions/${SUB}`,
      `/subscriptions/${SUB}/resourceGroups/My RG (prod)`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app-1`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/sales`,
    ]) {
      expect(() => validateResourceId(id)).not.toThrow();
    }
  });

  it('the command exits non-zero with one error line and sends nothing', async () => {
    let stderr = '';
    const io: CliIo = { env: {}, stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } };
    // Port 1: had the command tried to send, it would have failed with a connection error instead.
    const code = await runCli(['send-event', 'write', '--resource-id', 'not/an/id', '--connection', 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;'], io);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: --resource-id: Not an Azure resource id \(must start with \/subscriptions\/\): "not\/an\/id"/)]);
  });
});
