/**
 * Issue #10 §1.8: ids with characters Azure's naming rules allow (`'`, `|`, spaces, unicode) are real resources.
 * An event for one reaches Port as an upserted entity, through the real processor, the Resource Graph emulator (which
 * parses the escaped KQL literal) and the Port emulator (which enforces the identifier pattern).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { BP, createRig, startServices, type Rig, type Services } from './harness.js';
import { deleteEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-legal`;
const SERVER = `${RG}/providers/Microsoft.Sql/servers/s1`;

const LEGAL_IDS = [
  `${SERVER}/databases/o'brien-sales`,
  `${RG}/providers/Microsoft.MachineLearningServices/workspaces/ml|team`,
  `${RG}/providers/Microsoft.Insights/metricAlerts/High CPU`,
  `${RG}/providers/Microsoft.Insights/metricAlerts/High_CPU`,
  `${RG}/providers/Microsoft.Web/sites/café-"quoted"\\back`,
];

/** A sample event retargeted by field (samples.ts substitutes into JSON text, which a `"` or `\\` would break). */
function eventFor(id: string, kind: 'write' | 'delete'): Record<string, unknown> {
  const placeholder = `${RG}/providers/Microsoft.Web/sites/placeholder`;
  const event = (kind === 'write' ? writeEvent : deleteEvent)({ resourceId: placeholder, eventTime: new Date(Date.now() - 60_000) });
  const data = event['data'] as Record<string, unknown>;
  return { ...event, subject: id, data: { ...data, resourceUri: id, authorization: { ...(data['authorization'] as object), scope: id } } };
}

let services: Services;
let rig: Rig;

beforeAll(async () => {
  services = await startServices();
  services.arg.upsertSubscription({ id: `/subscriptions/${SUB}` });
  services.arg.upsertResourceGroup({ id: RG, location: 'westeurope' });
  services.arg.upsertResource({ id: SERVER, location: 'westeurope' });
  for (const [i, id] of LEGAL_IDS.entries()) services.arg.upsertResource({ id, location: 'westeurope', tags: { n: String(i) } });
  rig = await createRig(services, { subscriptionIds: [SUB], settleTimeMs: 1 });
}, 60_000);

afterAll(async () => {
  await rig?.close();
  await services?.close();
});

describe('ids with characters Azure allows', () => {
  for (const [i, id] of LEGAL_IDS.entries()) {
    it(`a write event for ${JSON.stringify(id.slice(RG.length))} upserts its entity`, async () => {
      const outcome = await rig.processor.handle(eventFor(id, 'write'));
      expect(outcome).toMatchObject({ status: 'upserted', identifier: toPortIdentifier(id) });
      expect(services.port.entity(BP.resource, toPortIdentifier(id))?.properties?.['tags']).toEqual({ n: String(i) });
    });
  }

  it('each one is its own entity (High CPU and High_CPU do not share one)', () => {
    const identifiers = services.port.entities(BP.resource).map((e) => e.identifier);
    for (const id of LEGAL_IDS) expect(identifiers).toContain(toPortIdentifier(id));
    expect(new Set(LEGAL_IDS.map(toPortIdentifier)).size).toBe(LEGAL_IDS.length);
  });

  it('a delete event removes only its own entity', async () => {
    const [gone, ...kept] = LEGAL_IDS.slice(2);
    services.arg.deleteResource(gone!);
    const outcome = await rig.processor.handle(eventFor(gone!, 'delete'));
    expect(outcome).toMatchObject({ status: 'deleted', identifier: toPortIdentifier(gone!) });
    expect(services.port.entity(BP.resource, toPortIdentifier(gone!))).toBeUndefined();
    for (const id of kept) expect(services.port.entity(BP.resource, toPortIdentifier(id))).toBeDefined();
  });

  it('nothing was poisoned', async () => {
    expect(await rig.poisonBodies()).toEqual([]);
  });
});
