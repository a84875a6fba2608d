/**
 * Writes a message to `<queue>-poison`: a malformed one straight away (no five wasted retries), and one whose last
 * allowed attempt failed (lastAttempt.ts), before the host can copy the original there.
 *
 * What is stored is an envelope, `{ azurePortSyncPoisoned: 1, reason, messageId?, poisonedAt, body }`, so whoever
 * reads the poison queue sees why, and `replay-poison` can put it back as is: the handler unwraps the envelope and
 * processes `body` again (message.ts).
 *
 * `body` is the message as received minus caller personal data: every `claims`, `authorization` and `httpRequest`
 * key (any casing, at any depth; Event Grid puts them in `data` in both schemas) is removed through every encoding
 * the handler accepts: a parsed object or array, JSON text, base64 JSON, JSON text of JSON text, base64 of base64,
 * and any nesting of those, down to JSON strings inside the event. Each layer is re-encoded as it came, so the body
 * still replays. A body that decodes to no JSON at any layer (plain text, truncated JSON, broken base64) could hold
 * anything, so it is not stored: `bodyOmitted` says why and `originalBytes` how big it was. A body too large for a
 * queue message keeps `bodyPrefix`, the first 8 KiB of its stripped text (not replayable).
 */

import { encodeQueueMessage, type QueueSender } from './recheck.js';

export interface PoisonQueue {
  moveToPoison(body: unknown, reason: string, options?: { messageId?: string; abortSignal?: AbortSignal }): Promise<void>;
}

export const POISON_MARKER = 'azurePortSyncPoisoned';

export interface PoisonEnvelope {
  azurePortSyncPoisoned: 1;
  reason: string;
  messageId?: string;
  poisonedAt: string;
  /** The message without personal data, in its original encoding. Absent when it could not be kept. */
  body?: unknown;
  /** Why `body` is absent. */
  bodyOmitted?: string;
  originalBytes?: number;
  /** Oversized bodies only: the start of the stripped body text. */
  bodyPrefix?: string;
}

const PII_KEYS: ReadonlySet<string> = new Set(['claims', 'authorization', 'httprequest']);
/** Leaves room for base64 growth (4/3) inside the 64 KiB message limit. */
const MAX_POISON_TEXT_BYTES = 48 * 1024;
const OVERSIZED_PREFIX_CHARS = 8 * 1024;
/** Nesting (objects, arrays and encoding layers together) beyond which a body is summarised instead. */
const MAX_DEPTH = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

class TooDeep extends Error {}

interface Stripped<T> {
  value: T;
  /** Something was removed (otherwise the original is kept byte for byte). */
  changed: boolean;
}

function stripValue(value: unknown, depth: number): Stripped<unknown> {
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (typeof value === 'string') {
    const inner = stripText(value, depth + 1);
    return inner && inner.changed ? inner : { value, changed: false };
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item) => {
      const s = stripValue(item, depth + 1);
      changed ||= s.changed;
      return s.value;
    });
    return changed ? { value: out, changed } : { value, changed: false };
  }
  if (typeof value !== 'object' || value === null) return { value, changed: false };
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (PII_KEYS.has(key.toLowerCase())) {
      changed = true;
      continue;
    }
    const s = stripValue(item, depth + 1);
    changed ||= s.changed;
    out[key] = s.value;
  }
  return changed ? { value: out, changed } : { value, changed: false };
}

/** Base64 that decodes to well-formed UTF-8 text, or undefined. */
function fromBase64Text(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  const bytes = Buffer.from(compact, 'base64');
  const decoded = bytes.toString('utf8');
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : undefined;
}

/** Strips one text layer: JSON, or base64 of something that decodes. Undefined when no layer is JSON. */
function stripText(text: string, depth: number): Stripped<string> | undefined {
  if (depth > MAX_DEPTH) throw new TooDeep();
  let parsed: unknown;
  let isJson = true;
  try {
    parsed = JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (isJson) {
    if (typeof parsed === 'string') {
      // JSON text of JSON text (or of base64): strip the inner layer; a plain JSON string literal is data.
      const inner = stripText(parsed, depth + 1);
      return inner && inner.changed ? { value: JSON.stringify(inner.value), changed: true } : { value: text, changed: false };
    }
    const s = stripValue(parsed, depth + 1);
    return s.changed ? { value: JSON.stringify(s.value), changed: true } : { value: text, changed: false };
  }
  const decoded = fromBase64Text(text);
  if (decoded === undefined) return undefined;
  const inner = stripText(decoded, depth + 1);
  if (!inner) return undefined;
  return inner.changed ? { value: Buffer.from(inner.value, 'utf8').toString('base64'), changed: true } : { value: text, changed: false };
}

/**
 * The message as received without caller personal data, or undefined when it decodes to no JSON at any layer
 * (then nothing of it may be stored).
 */
export function stripPersonalData(body: unknown): unknown {
  try {
    if (Buffer.isBuffer(body) || body instanceof Uint8Array) return stripPersonalData(Buffer.from(body).toString('utf8'));
    if (typeof body === 'string') return stripText(body, 0)?.value;
    if (body === undefined) return undefined;
    return stripValue(body, 0).value;
  } catch (error) {
    if (error instanceof TooDeep || error instanceof RangeError) return undefined;
    throw error;
  }
}

function isEnvelope(value: unknown): value is PoisonEnvelope {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Record<string, unknown>)[POISON_MARKER] === 1;
}

function byteLength(value: unknown): number {
  return Buffer.byteLength(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''), 'utf8');
}

/** The poison-queue message text (before the queue's base64) for a body as the handler received it. */
export function poisonBody(body: unknown, reason: string, messageId?: string): string {
  let stripped = stripPersonalData(body);
  // A replayed envelope that fails again is stored once, with the new reason.
  if (isEnvelope(stripped) && 'body' in stripped) stripped = stripped.body;
  const envelope: PoisonEnvelope = {
    azurePortSyncPoisoned: 1,
    reason,
    ...(messageId ? { messageId } : {}),
    poisonedAt: new Date().toISOString(),
  };
  const originalBytes = Buffer.isBuffer(body) || body instanceof Uint8Array ? body.byteLength : byteLength(body);
  if (stripped === undefined && body !== undefined) {
    return JSON.stringify({
      ...envelope,
      bodyOmitted: 'the body decodes to no JSON at any layer, so it could hold personal data that cannot be removed',
      originalBytes,
    });
  }
  const text = JSON.stringify({ ...envelope, body: stripped });
  if (Buffer.byteLength(text, 'utf8') <= MAX_POISON_TEXT_BYTES) return text;
  const strippedText = typeof stripped === 'string' ? stripped : (JSON.stringify(stripped) ?? '');
  return JSON.stringify({
    ...envelope,
    bodyOmitted: `the body is over the ${MAX_POISON_TEXT_BYTES}-byte poison message limit`,
    originalBytes,
    bodyPrefix: strippedText.slice(0, OVERSIZED_PREFIX_CHARS),
  });
}

export class QueuePoisonMover implements PoisonQueue {
  constructor(private readonly poisonQueue: QueueSender) {}

  async moveToPoison(body: unknown, reason: string, options: { messageId?: string; abortSignal?: AbortSignal } = {}): Promise<void> {
    // -1: like the host's own poison moves, poisoned messages stay until someone looks at them.
    await this.poisonQueue.sendMessage(encodeQueueMessage(poisonBody(body, reason, options.messageId)), {
      messageTimeToLive: -1,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
  }
}
