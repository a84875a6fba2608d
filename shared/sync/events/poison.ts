/**
 * Moves a malformed message to `<queue>-poison` straight away, instead of letting the host retry it five times.
 *
 * The body is kept so `replay-poison` can put it back once the cause is fixed, with one exception: Event Grid's
 * `claims`, `authorization` and `httpRequest` (caller PII) are stripped from JSON bodies, because we never store them.
 * Bodies that cannot fit in a queue message keep only a prefix, wrapped with the reason.
 */

import { encodeQueueMessage, type QueueSender } from './recheck.js';

export interface PoisonQueue {
  moveToPoison(body: unknown, reason: string, options?: { messageId?: string; abortSignal?: AbortSignal }): Promise<void>;
}

const PII_KEYS = ['claims', 'authorization', 'httpRequest'];
/** Leaves room for base64 growth (4/3) inside the 64 KiB message limit. */
const MAX_POISON_TEXT_BYTES = 48 * 1024;
const OVERSIZED_PREFIX_CHARS = 8 * 1024;

function stripPii(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripPii);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const data = record['data'];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return value;
  const cleaned = Object.fromEntries(Object.entries(data).filter(([k]) => !PII_KEYS.includes(k)));
  return { ...record, data: cleaned };
}

/** The text to store for a message body as the handler received it (object, string or bytes). */
export function poisonText(body: unknown): string {
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return poisonText(Buffer.from(body).toString('utf8'));
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === 'object' && parsed !== null) return JSON.stringify(stripPii(parsed));
    } catch {
      // not JSON: keep the text as it is
    }
    return body;
  }
  if (body === undefined) return '';
  try {
    return JSON.stringify(stripPii(body)) ?? String(body);
  } catch {
    return String(body);
  }
}

export function poisonBody(body: unknown, reason: string, messageId?: string): string {
  const text = poisonText(body);
  if (Buffer.byteLength(text, 'utf8') <= MAX_POISON_TEXT_BYTES) return text;
  return JSON.stringify({
    azurePortSyncPoisoned: 1,
    reason,
    ...(messageId ? { messageId } : {}),
    originalBytes: Buffer.byteLength(text, 'utf8'),
    bodyPrefix: text.slice(0, OVERSIZED_PREFIX_CHARS),
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

