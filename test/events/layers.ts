/**
 * Decodes a stored message through every layer (base64, JSON, JSON text inside JSON, base64 inside JSON, ...) and
 * returns every text seen on the way, so a test can assert that no layer holds personal data.
 */

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function base64Text(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

export function everyLayer(text: string, depth = 0, out: string[] = []): string[] {
  if (depth > 40) return out;
  out.push(text);
  try {
    walk(JSON.parse(text), depth + 1, out);
  } catch {
    // not JSON at this layer
  }
  const decoded = base64Text(text);
  if (decoded !== undefined) everyLayer(decoded, depth + 1, out);
  return out;
}

function walk(value: unknown, depth: number, out: string[]): void {
  if (typeof value === 'string') everyLayer(value, depth, out);
  else if (Array.isArray(value)) for (const item of value) walk(item, depth, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      walk(item, depth, out);
    }
  }
}

/** Event Grid's caller PII keys, any casing. */
const PERSONAL_KEY = /^(claims|authorization|httpRequest)$/i;
/** Placeholder values of the published samples' claims, authorization and httpRequest. */
const PERSONAL_VALUE = /IP-address|clientIpAddress|Subscription Admin|\{user-name\}|\{full-name\}|\{first-name\}|\{last-name\}/;

/**
 * The layers of `text` that hold personal data (empty: none): a PII key in any JSON layer, or a PII value in any
 * layer that is not itself base64 (base64 text is checked through what it decodes to, never as letters, where
 * short words turn up by chance).
 */
export function personalDataIn(text: string): string[] {
  return everyLayer(text).filter((layer) => PERSONAL_KEY.test(layer) || (base64Text(layer) === undefined && PERSONAL_VALUE.test(layer)));
}
