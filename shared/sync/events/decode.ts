/**
 * Unwraps the transport encodings of a queue message body: what the Functions host hands the handler (usually an
 * object: it base64-decodes and JSON-parses), and what replays, manual sends and `messageEncoding: none` produce
 * (a JSON string, base64 JSON, a Buffer, JSON text of JSON text). @azure/eventgrid's deserialiser only takes an
 * object or JSON text, so this layer stays ours.
 */

/** The Storage queue limit; a decoded body this large cannot have come through a real queue message. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

/** The JSON value a body carries, or why there is none. */
export function decodeBody(message: unknown, depth = 0): Decoded {
  if (message === undefined || message === null) return { ok: false, reason: 'message is empty (null)' };
  if (Buffer.isBuffer(message) || message instanceof Uint8Array) {
    return decodeBody(Buffer.from(message).toString('utf8'), depth);
  }
  if (typeof message === 'string') {
    if (utf8Bytes(message) > MAX_MESSAGE_BYTES) {
      return { ok: false, reason: `message is ${utf8Bytes(message)} bytes, over the ${MAX_MESSAGE_BYTES}-byte queue message limit` };
    }
    const text = message.trim();
    if (text === '') return { ok: false, reason: 'message is empty' };
    if (depth > 2) return { ok: false, reason: 'message is encoded more than twice' };
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'string' ? decodeBody(parsed, depth + 1) : { ok: true, value: parsed };
    } catch {
      // not JSON; maybe base64 that nobody decoded (messageEncoding none, or a manual send)
    }
    const compact = text.replace(/\s+/g, '');
    if (compact.length % 4 === 0 && BASE64.test(compact)) {
      const decoded = Buffer.from(compact, 'base64').toString('utf8');
      try {
        return { ok: true, value: JSON.parse(decoded) };
      } catch {
        return { ok: false, reason: 'message is base64 but does not decode to JSON' };
      }
    }
    if (/^[A-Za-z0-9+/=\r\n]+$/.test(text)) return { ok: false, reason: 'message looks like base64 but is not valid base64' };
    return { ok: false, reason: 'message is not JSON' };
  }
  if (typeof message === 'number' || typeof message === 'boolean' || typeof message === 'bigint') {
    return { ok: false, reason: `message is a ${typeof message}, expected one JSON event object` };
  }
  return { ok: true, value: message };
}

export function sizeOf(value: unknown): number {
  try {
    return utf8Bytes(JSON.stringify(value) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
