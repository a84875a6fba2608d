/**
 * Moves (test/emulators/README.md, "Moves"): ARM's moveResources gives a resource (and its children) a new id under
 * the target group, in the same or another subscription; `resources` follows after its lag; the change tables get a
 * Delete for the old id and a Create for the new one; the Event Grid helper builds the ResourceActionSuccess that
 * ARM publishes on the source group.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeRow } from '../../../shared/azure/types.js';
import { parseQueueMessage } from '../../../shared/sync/events/message.js';
import { MOVE_ACTION, moveEvents } from '../../events/moveEvents.js';
import { MINUTE, T0, collect, control, emulator, norm, reader } from './support.js';

const A = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const B = '1b2c3d4e-5f6a-4b7c-8d9e-9f0a1b2c3d4e';
const SRC = `/subscriptions/${A}/resourceGroups/rg-src`;
const DST = `/subscriptions/${A}/resourceGroups/rg-dst`;
const FAR = `/subscriptions/${B}/resourceGroups/rg-far`;
const server = (group: string) => `${group}/providers/Microsoft.Sql/servers/sql-1`;
const database = (group: string) => `${server(group)}/databases/db-1`;
const scope = { subscriptionIds: [A, B] };

async function started() {
  const emu = await emulator();
  emu.seed({
    subscriptions: [A, B].map((s) => ({ id: `/subscriptions/${s}`, subscriptionId: s })),
    resourceGroups: [SRC, DST, FAR].map((id) => ({ id, subscriptionId: id.split('/')[2]!, resourceGroup: id.split('/')[4]! })),
    resources: [
      { id: server(SRC), subscriptionId: A, resourceGroup: 'rg-src', tags: { app: 'x' } },
      { id: database(SRC), subscriptionId: A, resourceGroup: 'rg-src' },
      { id: `${SRC}/providers/Microsoft.Web/sites/stays`, subscriptionId: A, resourceGroup: 'rg-src' },
    ],
  });
  return { emu, r: reader(emu) };
}

describe('moves', () => {
  it('between groups: new ids (children included) after the lag, Delete + Create change records', async () => {
    const { emu, r } = await started();
    emu.setLag({ tables: { resources: MINUTE } });
    expect(emu.moveResources(SRC, [server(SRC)], DST)).toEqual([
      { from: server(SRC), to: server(DST) },
      { from: database(SRC), to: database(DST) },
    ]);
    const ids = [server(SRC), database(SRC), server(DST), database(DST)];
    expect([...(await r.lookupByIds(ids, scope)).keys()].sort()).toEqual([norm(server(SRC)), norm(database(SRC))].sort());
    emu.advance(MINUTE);
    const after = await r.lookupByIds(ids, scope);
    expect([...after.keys()].sort()).toEqual([norm(server(DST)), norm(database(DST))].sort());
    expect(after.get(norm(server(DST)))).toMatchObject({ id: server(DST), resourceGroup: 'rg-dst', tags: { app: 'x' } });

    const window = { since: T0, until: new Date(T0.getTime() + MINUTE) };
    const changes = await collect<ChangeRow>(r.listChanges(scope, window));
    expect(changes.map((c) => [c.targetResourceId, c.changeType]).sort()).toEqual(
      [
        [server(SRC), 'Delete'],
        [database(SRC), 'Delete'],
        [server(DST), 'Create'],
        [database(DST), 'Create'],
      ].sort(),
    );
  });

  it('across subscriptions over HTTP, recording the moveResources operation; refusals change nothing', async () => {
    const { emu } = await started();
    const moved = await control(emu, 'POST', 'changes', { op: 'moveResources', resources: [server(SRC)], targetResourceGroup: FAR });
    expect(moved.status).toBe(200);
    expect(moved.body.results).toEqual([[{ from: server(SRC), to: server(FAR) }, { from: database(SRC), to: database(FAR) }]]);
    expect(emu.estate().resources.find((x) => x.id === server(FAR))).toMatchObject({ subscriptionId: B, resourceGroup: 'rg-far' });
    const raw = await fetch(`${emu.url}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ subscriptions: [A, B], query: 'resourcechanges | extend operation = tostring(properties.changeAttributes.operation)' }),
    });
    const operations = ((await raw.json()) as { data: { operation: string }[] }).data.map((d) => d.operation);
    expect(operations).toEqual([MOVE_ACTION, MOVE_ACTION, MOVE_ACTION, MOVE_ACTION]);

    const before = emu.estate();
    const child = await control(emu, 'POST', 'changes', { op: 'moveResources', resources: [database(FAR)], targetResourceGroup: DST });
    expect(child.status).toBe(400);
    expect(child.body.error?.message).toMatch(/not a top-level resource .* \(child resources move with their parent\)/);
    const missing = await control(emu, 'POST', 'changes', { op: 'moveResources', resources: [server(FAR)], targetResourceGroup: `${FAR}-gone` });
    expect(missing.body.error?.message).toMatch(/target resource group .* does not exist/);
    expect(emu.estate()).toEqual(before);
  });

  it('the move event: one ResourceActionSuccess on the source group, in both schemas, that the app parses', async () => {
    for (const schema of ['event-grid-schema', 'cloud-events-schema'] as const) {
      const [event, ...rest] = moveEvents({ sourceResourceGroup: SRC, schema, eventTime: T0 });
      expect(rest).toEqual([]);
      expect(event).toMatchObject({
        subject: SRC,
        data: {
          resourceUri: SRC,
          operationName: MOVE_ACTION,
          resourceProvider: 'Microsoft.Resources',
          subscriptionId: A,
          authorization: { scope: SRC, action: MOVE_ACTION },
          httpRequest: { method: 'POST', url: `https://management.azure.com${SRC}/moveResources?api-version=2021-04-01` },
        },
      });
      expect(JSON.stringify(event)).not.toMatch(/\{subscription-id\}|\{resource-group\}|listKeys/);
      const parsed = await parseQueueMessage(event);
      expect(parsed).toMatchObject({ kind: 'event', event: { eventType: 'Microsoft.Resources.ResourceActionSuccess', resourceUri: SRC, operationName: MOVE_ACTION } });
    }
    expect(() => moveEvents({ sourceResourceGroup: server(SRC) })).toThrow(/must be \/subscriptions\/<id>\/resourceGroups\/<name>/);
  });
});
