/**
 * Log redaction (shared/log.ts), exactly: test/log.test.ts proves no secret gets out; these pin what comes out
 * instead, so redacting too much (a useful field lost) or too little fails too. Every forbidden key, every secret
 * pattern inside text, the depth and array bounds, cycles, and the logger applying it to message and fields.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, memorySink, redactText, sanitizeFields } from '../../shared/log.js';

const R = '<redacted>';

describe('forbidden keys', () => {
  const keys = [
    'authorization',
    'claims',
    'httpRequest',
    'clientSecret',
    'client_secret',
    'accessToken',
    'access_token',
    'refreshToken',
    'refresh_token',
    'idToken',
    'id_token',
    'token',
    'password',
    'secret',
    'cookie',
    'set-cookie',
    'x-api-key',
    'apiKey',
    'api_key',
    'x-functions-key',
    'AccountKey',
    'SharedAccessKey',
    'sig',
    'PORT_CLIENT_SECRET',
  ];

  it('each one is replaced by <redacted>, in any casing, and its neighbours are kept', () => {
    for (const key of keys) {
      for (const k of [key, key.toUpperCase(), key.toLowerCase()]) {
        expect(sanitizeFields({ [k]: 'value', keep: 'me' }), k).toEqual({ [k]: R, keep: 'me' });
      }
    }
  });

  it('only whole keys: keys that merely contain a forbidden word are kept', () => {
    const kept = { tokens: 1, myToken: 2, secretary: 3, signal: 4, claimsCount: 5, password2: 6, tokenizer: 7, xtoken: 8 };
    expect(sanitizeFields(kept)).toEqual(kept);
  });

  it('a forbidden key redacts its whole value, whatever it is', () => {
    expect(sanitizeFields({ claims: { upn: 'a', nested: [1, 2] }, token: 42, secret: null })).toEqual({ claims: R, token: R, secret: R });
  });

  it('in Maps too, and at depth', () => {
    const out = sanitizeFields({ a: new Map<unknown, unknown>([['password', 'p'], ['ok', 'v'], [7, 'seven']]) });
    expect(out).toEqual({ a: { password: R, ok: 'v', '7': 'seven' } });
    expect(sanitizeFields({ a: { b: { c: { token: 't', d: 'e' } } } })).toEqual({ a: { b: { c: { token: R, d: 'e' } } } });
  });
});

describe('secrets inside text', () => {
  it('a bearer token', () => {
    expect(redactText('Authorization: Bearer abc.DEF-123_~+/=xyz trailing')).toBe(`Authorization: Bearer ${R} trailing`);
    expect(redactText('bearer   tok')).toBe(`Bearer ${R}`);
    expect(redactText('unbearer tok')).toBe('unbearer tok');
  });

  it('a JWT (three base64url parts, the first two JSON objects)', () => {
    expect(redactText('got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x here')).toBe(`got ${R} here`);
    expect(redactText('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.')).toBe(R);
    expect(redactText('eyJhbGci.notJson.x')).toBe('eyJhbGci.notJson.x');
  });

  it('a SAS signature in a URL, keeping the other parameters', () => {
    expect(redactText('https://a.queue.core.windows.net/q?sv=1&sig=abc%3D&se=2')).toBe(`https://a.queue.core.windows.net/q?sv=1&sig=${R}&se=2`);
    expect(redactText('https://x/q?SIG=abc def')).toBe(`https://x/q?SIG=${R} def`);
    expect(redactText('design=abc')).toBe('design=abc');
  });

  it('account keys, shared access keys and signatures in connection strings, keeping the rest', () => {
    expect(redactText('AccountName=a;AccountKey=k+/==;EndpointSuffix=core')).toBe(`AccountName=a;AccountKey=${R};EndpointSuffix=core`);
    expect(redactText('Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey=k=;')).toBe(`Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey=${R};`);
    expect(redactText('SharedAccessSignature=sv=1&sig=2')).toBe(`SharedAccessSignature=${R}`);
    expect(redactText("accountkey=abc'")).toBe(`accountkey=${R}'`);
  });

  it('every occurrence, not only the first; plain text untouched', () => {
    expect(redactText('Bearer a and Bearer b')).toBe(`Bearer ${R} and Bearer ${R}`);
    expect(redactText('nothing to see')).toBe('nothing to see');
    expect(sanitizeFields({ note: 'Bearer abc', list: ['Bearer d'] })).toEqual({ note: `Bearer ${R}`, list: [`Bearer ${R}`] });
  });
});

describe('values JSON can write', () => {
  it('scalars pass, bigint becomes text, functions and symbols are named, bytes are counted', () => {
    expect(sanitizeFields({ n: 1, b: true, z: null, u: undefined, s: 'x' })).toEqual({ n: 1, b: true, z: null, u: undefined, s: 'x' });
    expect(sanitizeFields(10n)).toBe('10');
    expect(sanitizeFields(() => 1)).toBe('[function]');
    expect(sanitizeFields(Symbol('s'))).toBe('[symbol]');
    expect(sanitizeFields(Buffer.from('abcd'))).toBe('[4 bytes]');
    expect(sanitizeFields(new ArrayBuffer(3))).toBe('[3 bytes]');
    expect(sanitizeFields(new Uint16Array(2))).toBe('[4 bytes]');
  });

  it('dates as ISO text; an invalid date says so', () => {
    expect(sanitizeFields(new Date('2026-01-02T03:04:05.000Z'))).toBe('2026-01-02T03:04:05.000Z');
    expect(sanitizeFields(new Date('nope'))).toBe('Invalid Date');
  });

  it('errors: name, redacted message, and cause when there is one', () => {
    const e = new TypeError('failed with Bearer abc', { cause: { token: 't', code: 'E1' } });
    expect(sanitizeFields(e)).toEqual({ name: 'TypeError', message: `failed with Bearer ${R}`, cause: { token: R, code: 'E1' } });
    expect(sanitizeFields(new Error('plain'))).toEqual({ name: 'Error', message: 'plain' });
    expect(sanitizeFields(new Error('plain'))).not.toHaveProperty('cause');
  });

  it('arrays and sets keep their first 50 items', () => {
    const items = Array.from({ length: 60 }, (_, i) => i);
    expect(sanitizeFields(items)).toEqual(items.slice(0, 50));
    expect(sanitizeFields(new Set(items))).toEqual(items.slice(0, 50));
    expect(sanitizeFields(items.slice(0, 50))).toEqual(items.slice(0, 50));
  });

  it('nesting: 32 levels are kept, the 33rd becomes a marker', () => {
    const nest = (n: number): unknown => (n === 0 ? { leaf: 'x' } : { d: nest(n - 1) });
    const expected = (n: number, leaf: unknown): unknown => (n === 0 ? leaf : { d: expected(n - 1, leaf) });
    expect(sanitizeFields(nest(31))).toEqual(expected(31, { leaf: 'x' }));
    expect(sanitizeFields(nest(32))).toEqual(expected(32, '[nested too deep]'));
    // Scalars at any depth are written as they are (only containers are cut).
    const arrays = (n: number): unknown => (n === 0 ? 'leaf' : [arrays(n - 1)]);
    expect(JSON.stringify(sanitizeFields(arrays(40)))).toBe(`${'['.repeat(32)}"[nested too deep]"${']'.repeat(32)}`);
  });

  it('a cycle becomes [circular]; a shared reference seen twice is written twice', () => {
    const shared = { v: 1 };
    const cyclic: Record<string, unknown> = { a: shared, b: shared };
    cyclic['self'] = cyclic;
    expect(sanitizeFields(cyclic)).toEqual({ a: { v: 1 }, b: { v: 1 }, self: '[circular]' });
    const list: unknown[] = [1];
    list.push(list);
    expect(sanitizeFields(list)).toEqual([1, '[circular]']);
  });

  it('a throwing getter, and an object whose keys cannot be listed, are [unreadable]', () => {
    const hostile = {
      ok: 1,
      get boom(): string {
        throw new Error('getter');
      },
    };
    expect(sanitizeFields(hostile)).toEqual({ ok: 1, boom: '[unreadable]' });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(sanitizeFields({ p: proxy })).toEqual({ p: '[unreadable]' });
  });
});

describe('the logger applies it', () => {
  it('to the message and to every field, base fields included, at or above the minimum level', () => {
    const sink = memorySink();
    const logger = createLogger(sink, 'info', { invocation: 'i-1', token: 'base-secret' });
    logger.debug('not written');
    logger.info('sent Bearer abc', { claims: { upn: 'u' }, count: 2 });
    logger.error('failed', { error: new Error('AccountKey=k;') });
    expect(sink.records).toEqual([
      { level: 'info', message: `sent Bearer ${R}`, fields: { invocation: 'i-1', token: R, claims: R, count: 2 } },
      { level: 'error', message: 'failed', fields: { invocation: 'i-1', token: R, error: { name: 'Error', message: `AccountKey=${R};` } } },
    ]);
  });

  it('levels: debug < info < warn < error', () => {
    const sink = memorySink();
    const logger = createLogger(sink, 'warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(sink.records.map((r) => r.level)).toEqual(['warn', 'error']);
    const all = memorySink();
    const debug = createLogger(all, 'debug');
    debug.debug('d');
    debug.info('i');
    expect(all.records.map((r) => r.level)).toEqual(['debug', 'info']);
    const def = memorySink();
    const byDefault = createLogger(def);
    byDefault.debug('d');
    byDefault.info('i');
    expect(def.records.map((r) => r.level)).toEqual(['info']);
    const errOnly = memorySink();
    createLogger(errOnly, 'error').warn('w');
    expect(errOnly.records).toEqual([]);
  });
});

describe('bounds through every container', () => {
  const marker = '[nested too deep]';
  it('a chain of Error causes is cut at 32 levels', () => {
    let error: unknown = 'root cause';
    for (let i = 0; i < 40; i++) error = new Error(`e${i}`, { cause: error });
    let out = sanitizeFields(error) as { cause?: unknown };
    let levels = 0;
    while (out && typeof out === 'object' && 'cause' in out) {
      out = out.cause as { cause?: unknown };
      levels += 1;
    }
    expect(levels).toBe(32);
    expect(out).toBe(marker);
  });

  it('nested Sets and Maps are cut at 32 levels too', () => {
    const sets = (n: number): unknown => (n === 0 ? 'leaf' : new Set([sets(n - 1)]));
    expect(JSON.stringify(sanitizeFields(sets(40)))).toBe(`${'['.repeat(32)}"${marker}"${']'.repeat(32)}`);
    const maps = (n: number): unknown => (n === 0 ? 'leaf' : new Map([['m', maps(n - 1)]]));
    expect(JSON.stringify(sanitizeFields(maps(40)))).toBe(`${'{"m":'.repeat(32)}"${marker}"${'}'.repeat(32)}`);
  });

  it('an object whose keys cannot be listed is [unreadable], at the top too', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    expect(sanitizeFields(hostile)).toBe('[unreadable]');
    expect(sanitizeFields({ a: hostile, b: 1 })).toEqual({ a: '[unreadable]', b: 1 });
  });
});
