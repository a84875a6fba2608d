/**
 * Internal re-check messages: "read this id from Resource Graph again later". They travel through the same queue as
 * Event Grid events (base64 JSON, delayed with the message's visibility timeout), so a re-check survives worker
 * restarts and scale-in, and gets the same retry and poison handling as any event.
 */
import { z } from 'zod';

export const RECHECK_MARKER = 'azurePortSyncRecheck';

/** Storage queues cap a message's initial invisibility at 7 days. */
const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;

export interface RecheckMessage {
  azurePortSyncRecheck: 1;
  /** Normalised ARM id of what to re-read (subscription, resource group or top-level resource). */
  resourceId: string;
  /** What the triggering event said happened. Resource Graph decides what actually gets applied. */
  hint: 'write' | 'delete';
  /** Event time of the triggering event (ISO-8601): the settle time is measured from here. */
  firstSeenAt: string;
  /** 1 for the first re-check. */
  attempt: number;
  /** A group resources were moved out of: re-check what Port holds under it too. */
  children?: true;
}

const recheckSchema = z
  .object({
    azurePortSyncRecheck: z.literal(1, { error: 're-check: azurePortSyncRecheck must be 1' }),
    resourceId: z
      .string({ error: 're-check: resourceId is missing or not a string' })
      .min(1, 're-check: resourceId is empty')
      .max(2048, 're-check: resourceId is longer than 2048 characters')
      .regex(/^\/subscriptions\//i, 're-check: resourceId is not an ARM id'),
    hint: z.enum(['write', 'delete'], { error: 're-check: hint must be "write" or "delete"' }),
    firstSeenAt: z
      .string({ error: 're-check: firstSeenAt is missing or not a string' })
      .refine((v) => !Number.isNaN(Date.parse(v)), { message: 're-check: firstSeenAt is not a date-time' }),
    attempt: z
      .number({ error: 're-check: attempt is missing or not a number' })
      .int('re-check: attempt must be a whole number')
      .min(1, 're-check: attempt must be at least 1')
      .max(100, 're-check: attempt is over 100'),
    children: z.literal(true, { error: 're-check: children must be true when present' }).optional(),
  })
  .strict();

export function parseRecheckMessage(value: unknown): { ok: true; value: RecheckMessage } | { ok: false; reason: string } {
  const parsed = recheckSchema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const reason =
    issue?.code === 'unrecognized_keys' ? `re-check: unexpected field(s) ${issue.keys.join(', ')}` : (issue?.message ?? 're-check: invalid');
  return { ok: false, reason };
}

/** Delivers a re-check after a delay. Production: the events queue with a visibility timeout. */
export interface RecheckScheduler {
  schedule(message: RecheckMessage, delayMs: number, options?: { abortSignal?: AbortSignal }): Promise<void>;
}

/** The minimal slice of @azure/storage-queue's QueueClient we use, so tests and the bench can pass a real one. */
export interface QueueSender {
  sendMessage(
    messageText: string,
    options?: { visibilityTimeout?: number; messageTimeToLive?: number; abortSignal?: AbortSignal },
  ): Promise<unknown>;
}

export function encodeQueueMessage(body: unknown): string {
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8').toString('base64');
}

/** Sends re-checks to the events queue as base64 JSON, delayed with the visibility timeout (whole seconds, rounded up). */
export class QueueRecheckScheduler implements RecheckScheduler {
  constructor(private readonly queue: QueueSender) {}

  async schedule(message: RecheckMessage, delayMs: number, options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil(delayMs / 1000)));
    await this.queue.sendMessage(encodeQueueMessage(message), {
      visibilityTimeout: seconds,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
  }
}

/**
 * When the next re-check of an id that Resource Graph does not show yet (or still shows after a delete) should run.
 * Doubling steps starting at a sixth of the settle time, never past the settle deadline, so the last attempt lands
 * exactly when the lag bound has passed: with the default 90 s that is +15 s, +45 s, +90 s after the event.
 */
export function nextRecheckDelayMs(attempt: number, firstSeenAtMs: number, nowMs: number, settleTimeMs: number): number {
  const step = Math.max(1_000, Math.round(settleTimeMs / 6));
  const target = firstSeenAtMs + Math.min(settleTimeMs, step * (2 ** attempt - 1));
  const deadline = firstSeenAtMs + settleTimeMs;
  return Math.max(0, Math.min(target, deadline) - nowMs);
}
