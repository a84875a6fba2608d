/**
 * The jq subset this project compiles to JavaScript (shared/mapping/jq/compile.ts). The parser builds these nodes
 * only for programs it parses exactly as jq 1.8 does; everything else is run by real jq (jq-wasm).
 */

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Node =
  | { k: 'identity' }
  | { k: 'recurse' }
  /** `target | .[index]`; `opt` suppresses the index operation's own error (jq's INDEX_OPT), not the target's. */
  | { k: 'index'; target: Node; index: Node; opt: boolean }
  /** `target | .[]`; `opt`: a value that cannot be iterated gives no output (jq's EACH_OPT). */
  | { k: 'iterate'; target: Node; opt: boolean }
  | { k: 'literal'; value: null | boolean | number | string }
  /** A string with interpolations: each part is text or a sub-program whose outputs are stringified. */
  | { k: 'string'; parts: (string | Node)[] }
  | { k: 'array'; body: Node | undefined }
  | { k: 'object'; entries: { key: Node; value: Node }[] }
  | { k: 'pipe'; left: Node; right: Node }
  | { k: 'comma'; left: Node; right: Node }
  | { k: 'alt'; left: Node; right: Node }
  | { k: 'and'; left: Node; right: Node }
  | { k: 'or'; left: Node; right: Node }
  | { k: 'binary'; op: BinaryOp; left: Node; right: Node }
  | { k: 'negate'; body: Node }
  | { k: 'if'; cond: Node; then: Node; else: Node | undefined }
  | { k: 'try'; body: Node; handler: Node | undefined }
  | { k: 'bind'; source: Node; name: string; body: Node }
  | { k: 'var'; name: string }
  | { k: 'call'; name: string; args: Node[] }
  | { k: 'reduce'; source: Node; name: string; init: Node; update: Node };

/** True when the node reads its input (`.`) anywhere outside a `$var`-only context; used to spot constant expressions. */
export function readsInput(node: Node): boolean {
  switch (node.k) {
    case 'literal':
    case 'var':
      return false;
    case 'string':
      return node.parts.some((p) => typeof p !== 'string' && readsInput(p));
    case 'array':
      return node.body !== undefined && readsInput(node.body);
    case 'object':
      return node.entries.some((e) => readsInput(e.key) || readsInput(e.value));
    case 'pipe':
      return readsInput(node.left);
    case 'comma':
    case 'alt':
    case 'and':
    case 'or':
    case 'binary':
      return readsInput(node.left) || readsInput(node.right);
    case 'negate':
      return readsInput(node.body);
    case 'if':
      return readsInput(node.cond) || readsInput(node.then) || (node.else ? readsInput(node.else) : true);
    case 'try':
      return readsInput(node.body) || (node.handler !== undefined && readsInput(node.handler));
    case 'bind':
      return readsInput(node.source) || readsInput(node.body);
    case 'reduce':
      return readsInput(node.source) || readsInput(node.init);
    case 'index':
      return readsInput(node.target) || readsInput(node.index);
    case 'iterate':
      return readsInput(node.target);
    case 'call':
      // Builtins without arguments that read nothing.
      if (['empty', 'null', 'true', 'false'].includes(node.name) && node.args.length === 0) return false;
      return true;
    default:
      return true;
  }
}
