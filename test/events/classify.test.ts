import { describe, expect, it } from 'vitest';
import { classifyEvent, targetFromId, type ClassifyOptions } from '../../shared/sync/events/classify.js';
import type { ResourceEvent } from '../../shared/sync/events/message.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const OTHER = '11111111-2222-3333-4444-555555555555';
const RG = `/subscriptions/${SUB}/resourceGroups/Rg-One`;
const VNET = `${RG}/providers/Microsoft.Network/virtualNetworks/VNet1`;

const open: ClassifyOptions = { subscriptionIds: [], includeResourceTypes: [], excludeResourceTypes: [] };

function event(resourceUri: string, eventType: ResourceEvent['eventType'] = 'Microsoft.Resources.ResourceWriteSuccess'): ResourceEvent {
  return { id: 'e', schema: 'EventGridSchema', eventType, eventTime: new Date(), resourceUri };
}

describe('classifyEvent', () => {
  it('syncs resources, groups and subscriptions by their normalised id', () => {
    expect(classifyEvent(event(VNET), open)).toEqual({
      action: 'sync',
      hint: 'write',
      target: { kind: 'resource', id: VNET.toLowerCase(), subscriptionId: SUB, type: 'microsoft.network/virtualnetworks' },
    });
    expect(classifyEvent(event(RG, 'Microsoft.Resources.ResourceDeleteSuccess'), open)).toMatchObject({
      action: 'sync',
      hint: 'delete',
      target: { kind: 'resourceGroup', id: RG.toLowerCase() },
    });
    expect(classifyEvent(event(`/subscriptions/${SUB.toUpperCase()}`), open)).toMatchObject({
      action: 'sync',
      target: { kind: 'subscription', id: `/subscriptions/${SUB}`, subscriptionId: SUB },
    });
  });

  it('syncs a child itself and refreshes its top-level parent (always as a write)', () => {
    const subnet = `${VNET}/subnets/default`;
    expect(classifyEvent(event(subnet), open)).toEqual({
      action: 'sync',
      hint: 'write',
      target: { kind: 'resource', id: subnet.toLowerCase(), subscriptionId: SUB, child: true, type: 'microsoft.network/virtualnetworks/subnets' },
      parent: { kind: 'resource', id: VNET.toLowerCase(), subscriptionId: SUB, type: 'microsoft.network/virtualnetworks' },
    });
    expect(classifyEvent(event(subnet, 'Microsoft.Resources.ResourceDeleteSuccess'), open)).toMatchObject({
      hint: 'delete',
      target: { id: subnet.toLowerCase(), child: true },
    });
    const container = `${RG}/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1`;
    expect(classifyEvent(event(container), open)).toMatchObject({
      parent: { id: `${RG}/providers/Microsoft.Storage/storageAccounts/acct`.toLowerCase() },
    });
  });

  it('turns tag writes into a refresh of the tagged scope', () => {
    expect(classifyEvent(event(`/subscriptions/${SUB}/providers/Microsoft.Resources/tags/default`), open)).toMatchObject({
      action: 'sync',
      hint: 'write',
      target: { kind: 'subscription', id: `/subscriptions/${SUB}` },
    });
    expect(classifyEvent(event(`${RG}/providers/Microsoft.Resources/tags/default`), open)).toMatchObject({
      target: { kind: 'resourceGroup', id: RG.toLowerCase() },
    });
    expect(classifyEvent(event(`${VNET}/providers/Microsoft.Resources/tags/default`), open)).toMatchObject({
      target: { kind: 'resource', id: VNET.toLowerCase() },
    });
  });

  it('ignores noise with a counter name', () => {
    const noise = [
      `${RG}/providers/Microsoft.Resources/deployments/Microsoft.StorageAccount-20180719`,
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/abc`,
      `${VNET}/providers/Microsoft.Authorization/locks/nodelete`,
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/policyAssignments/p1`,
      `${VNET}/providers/Microsoft.Insights/diagnosticSettings/toLaw`,
    ];
    for (const id of noise) expect(classifyEvent(event(id), open), id).toMatchObject({ action: 'ignore', counter: 'ignoredNoise' });
  });

  it('acknowledges failure, cancel and action types', () => {
    expect(classifyEvent(event(VNET, 'Microsoft.Resources.ResourceWriteFailure'), open)).toMatchObject({ counter: 'ignoredFailureOrCancel' });
    expect(classifyEvent(event(VNET, 'Microsoft.Resources.ResourceDeleteCancel'), open)).toMatchObject({ counter: 'ignoredFailureOrCancel' });
    expect(classifyEvent(event(VNET, 'Microsoft.Resources.ResourceActionSuccess'), open)).toMatchObject({ counter: 'ignoredAction' });
  });

  it('applies include/exclude types to resources only', () => {
    const onlyVms = { ...open, includeResourceTypes: ['microsoft.compute/virtualmachines'] };
    expect(classifyEvent(event(VNET), onlyVms)).toMatchObject({ action: 'ignore', counter: 'ignoredExcludedType' });
    expect(classifyEvent(event(RG), onlyVms)).toMatchObject({ action: 'sync' });
    const noVnets = { ...open, excludeResourceTypes: ['microsoft.network/virtualnetworks'] };
    const subnetOnly = classifyEvent(event(`${VNET}/subnets/s`), noVnets);
    expect(subnetOnly).toMatchObject({ action: 'sync', target: { child: true } });
    expect(subnetOnly).not.toHaveProperty('parent');
    const neither = { ...open, excludeResourceTypes: ['microsoft.network/virtualnetworks', 'microsoft.network/virtualnetworks/subnets'] };
    expect(classifyEvent(event(`${VNET}/subnets/s`), neither)).toMatchObject({ action: 'ignore', counter: 'ignoredExcludedType' });
  });

  it('drops foreign subscriptions only when a list is configured', () => {
    const foreign = `/subscriptions/${OTHER}/resourceGroups/x`;
    expect(classifyEvent(event(foreign), { ...open, subscriptionIds: [SUB] })).toMatchObject({ action: 'drop', reason: expect.stringContaining(OTHER) });
    expect(classifyEvent(event(foreign), open)).toMatchObject({ action: 'sync' });
  });

  it('accepts every character Azure names may hold: quotes, pipes, backslashes, spaces, any script', () => {
    const legal = [`${RG}'| take 1`, `${RG}"`, `${RG}\\x`, `${RG}/providers/Microsoft.Sql/servers/s1/databases/o'brien-sales`, `${RG} (prod) 😀`];
    for (const id of legal) expect(classifyEvent(event(id), open), JSON.stringify(id)).toMatchObject({ action: 'sync', target: { id: id.toLowerCase() } });
    for (const id of legal) expect(targetFromId(id.toLowerCase()), JSON.stringify(id)).toMatchObject({ ok: true });
  });

  it('rejects what cannot be an ARM id, naming why', () => {
    const cases: [string, RegExp][] = [
      [`${RG}'| take 1 //`, /segment 5 is empty/],
      [`${RG}\n| where 1==1`, /control character U\+000A/],
      [`${RG}\u0085`, /control character U\+0085/],
      [`${RG}\udc00`, /unpaired UTF-16 surrogate/],
      [`${RG}/${'x'.repeat(2100)}`, /longer than 2048/],
    ];
    for (const [id, reason] of cases) {
      expect(classifyEvent(event(id), open), JSON.stringify(id)).toMatchObject({ action: 'malformed', reason: expect.stringMatching(reason) });
      expect(targetFromId(id), JSON.stringify(id)).toMatchObject({ ok: false });
    }
    expect(classifyEvent(event('https://example.com/x'), open)).toMatchObject({ action: 'malformed', reason: expect.stringContaining('/subscriptions/') });
    expect(classifyEvent(event('/providers/Microsoft.Management/managementGroups/mg'), open)).toMatchObject({ action: 'malformed' });
  });

  it('targetFromId accepts subscription, group, resource and child ids only', () => {
    expect(targetFromId(VNET.toLowerCase())).toMatchObject({ ok: true, target: { kind: 'resource' } });
    expect(targetFromId(`${VNET}/subnets/s`)).toMatchObject({ ok: true, target: { child: true } });
    expect(targetFromId(`${VNET}/providers/Microsoft.Authorization/locks/l`)).toMatchObject({ ok: false });
    expect(targetFromId('/nope')).toMatchObject({ ok: false });
  });
});
