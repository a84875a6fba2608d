/**
 * `npm run sandbox`: the scripted demo must leave Port an exact mirror of the emulated estate, show each scripted
 * change in Port, and stop every service it started. Expectations are computed here from the Resource Graph
 * emulator's true estate and the mapping, not taken from the sandbox's own check.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normalizeResourceId, toPortIdentifier } from '../../shared/azure/resourceId.js';
import { mapRow } from '../../shared/mapping/index.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import { Sandbox, parseCliOptions } from './sandbox.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = join(repo, 'test/local/sandbox.ts');

function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

describe('sandbox', () => {
  it.concurrent('reconciles, plays every scripted change through the queue, and leaves Port equal to the mapped estate', async ({ onTestFinished }) => {
    const output: string[] = [];
    const sandbox = await Sandbox.start({
      subscriptions: 2,
      resourceGroups: 5,
      resources: 60,
      seed: 3,
      settleTime: '2s',
      lagMs: 500,
      print: (line) => output.push(line),
    });
    onTestFinished(() => sandbox.close());

    const summary = await sandbox.initialReconcile();
    expect(summary.status).toBe('succeeded');
    expect(summary.mode).toBe('full');
    expect(summary.counts.created).toBe(2 + 5 + 60);

    const steps = await sandbox.playScript();
    expect(steps.map((s) => [s.title, s.ok])).toEqual(steps.map((s) => [s.title, true]));
    expect(steps).toHaveLength(6);
    // The 500 ms lag is longer than the first lookup takes, so writes must have gone through the re-check path.
    expect(steps.filter((s) => s.rechecks > 0).length).toBeGreaterThan(0);
    const verdict = await sandbox.verify();

    // Port equals the mapping of Azure's true current state, entity by entity.
    const expected = new Map<string, Map<string, ReturnType<typeof mapRow>>>();
    for (const row of sandbox.arg.rows()) {
      const mapped = mapRow(row, BP);
      if (!mapped) continue;
      if (!expected.has(mapped.blueprint)) expected.set(mapped.blueprint, new Map());
      expected.get(mapped.blueprint)!.set(mapped.entity.identifier, mapped);
    }
    for (const blueprint of [BP.subscription, BP.resourceGroup, BP.resource]) {
      const stored = sandbox.port.entities(blueprint);
      const wanted = expected.get(blueprint) ?? new Map();
      expect(stored.map((e) => e.identifier).sort(), blueprint).toEqual([...wanted.keys()].sort());
      for (const entity of stored) {
        const want = wanted.get(entity.identifier)!.entity;
        expect(entity.title, entity.identifier).toBe(want.title);
        expect(entity.properties, entity.identifier).toMatchObject(want.properties);
      }
    }
    expect(verdict).toMatchObject({ ok: true, differences: [] });

    const entity = (id: string) =>
      sandbox.port.entity(id.split('/').length <= 5 ? BP.resourceGroup : BP.resource, toPortIdentifier(id));
    const [created, tagged, action, deleted, groupDeleted, recreated] = steps.map((s) => s.resourceIds);
    // 1: the new VM is in Port.
    expect(entity(created![0]!)).toMatchObject({ title: 'vm-sandbox-01', properties: { type: 'microsoft.compute/virtualmachines' } });
    // 2: the tag change through the Tags API reached the storage account.
    expect(entity(tagged![0]!)?.properties?.['tags']).toMatchObject({ env: 'prod', 'cost-center': '4242' });
    expect(action).toEqual(tagged);
    // 3 (delete): gone from Azure and from Port.
    expect(sandbox.arg.rows().some((r) => normalizeResourceId(r.id) === normalizeResourceId(deleted![0]!))).toBe(false);
    expect(entity(deleted![0]!)).toBeUndefined();
    // 4: the group delete removed every resource entity under it, from one event.
    const [groupId, ...children] = groupDeleted!;
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) expect(entity(child), child).toBeUndefined();
    // 5: re-created with other casing: the same identifier, the new name as title.
    expect(normalizeResourceId(recreated![0]!)).toBe(normalizeResourceId(groupId!));
    expect(recreated![0]).not.toBe(groupId);
    expect(entity(recreated![0]!)?.title).toBe(recreated![0]!.split('/').pop());

    // Real queue traffic: every invocation succeeded, nothing was poisoned.
    expect(sandbox.host.invocations.length).toBeGreaterThanOrEqual(6);
    expect(sandbox.host.invocations.filter((i) => i.outcome !== 'succeeded')).toEqual([]);
    expect(output.join('\n')).toContain('Port matches Azure');

    const queuePort = sandbox.azurite.queuePort;
    await sandbox.close();
    expect(await isListening(queuePort)).toBe(false);
  });

  it.concurrent('runs interactively until SIGINT, then stops Azurite and both emulators', async ({ onTestFinished }) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, '--subscriptions', '1', '--resource-groups', '3', '--resources', '12', '--settle', '1s', '--lag', '0'],
      { cwd: repo, env: { ...process.env, NO_COLOR: '1', SANDBOX_EXIT_AFTER_SCRIPT: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

    const deadline = Date.now() + 45_000;
    while (!out.includes('Sandbox running') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out, err).toContain('Sandbox running');
    expect(out.match(/✓ Port, after/g)).toHaveLength(6);
    expect(out).toContain('Port matches Azure');

    const portUrl = /Port emulator\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const argUrl = /Resource Graph emulator\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const queuePort = Number(/Azurite queue endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    // The printed commands work against the running emulators.
    const groups = (await (await fetch(`${portUrl}/_emulator/entities/${BP.resourceGroup}`)).json()) as { entities: unknown[] };
    expect(groups.entities).toHaveLength(3);
    const token = (await (
      await fetch(`${portUrl}/v1/auth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' }),
      })
    ).json()) as { accessToken: string };
    const search = await fetch(`${portUrl}/v1/blueprints/${BP.resource}/entities/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token.accessToken}` },
      body: JSON.stringify({ query: { combinator: 'and', rules: [{ property: 'type', operator: '=', value: 'microsoft.compute/virtualmachines' }] } }),
    });
    const found = (await search.json()) as { entities: { title: string }[] };
    expect(found.entities.map((e) => e.title)).toContain('vm-sandbox-01');
    expect(await isListening(queuePort)).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('Stopping');
    for (const url of [portUrl, argUrl]) expect(await isListening(Number(new URL(url).port)), url).toBe(false);
    expect(await isListening(queuePort), 'Azurite').toBe(false);
  });

  it('parses its options and names a bad one', () => {
    expect(parseCliOptions([], {})).toMatchObject({ once: false, resources: 300, subscriptions: 3, settleTime: '5s' });
    expect(parseCliOptions(['--resources', '50'], { SANDBOX_EXIT_AFTER_SCRIPT: '1' })).toMatchObject({ once: true, resources: 50 });
    expect(parseCliOptions(['--once'], {}).once).toBe(true);
    expect(() => parseCliOptions(['--resources', 'many'], {})).toThrow(/--resources must be a whole number/);
  });

  it('refuses a lag that could never settle', async () => {
    await expect(Sandbox.start({ settleTime: '2s', lagMs: 2_000, print: () => {} })).rejects.toThrow(/lag .* must be shorter than the settle time/);
    await expect(Sandbox.start({ settleTime: 'soon', print: () => {} })).rejects.toThrow(/settle time \(--settle\) must be a duration such as 500ms, 5s or 2m, got "soon"/);
  });
});
