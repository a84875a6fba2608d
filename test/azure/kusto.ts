/**
 * Microsoft's KQL parser (@kusto/language-service-next), loaded once for syntax checks in tests.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.js');

interface KustoToken {
  Kind: number;
  Text: string;
  ValueText: string;
  GetNextToken(): KustoToken | null;
}
interface KustoGlobal {
  Language: {
    KustoCode: {
      Parse(text: string): {
        GetDiagnostics(): { Count: number; getItem(i: number): { Message: string; Start: number } };
        Syntax: { GetFirstToken(): KustoToken | null };
      };
    };
    Syntax: { SyntaxKind: { StringLiteralToken: number; EndOfTextToken: number } };
  };
}
const Kusto = (globalThis as unknown as { Kusto: KustoGlobal }).Kusto;
const STRING_LITERAL = Kusto.Language.Syntax.SyntaxKind.StringLiteralToken;
const END = Kusto.Language.Syntax.SyntaxKind.EndOfTextToken;

/** Syntax diagnostics (empty: the query parses). */
export function kqlDiagnostics(query: string): string[] {
  const diagnostics = Kusto.Language.KustoCode.Parse(query).GetDiagnostics();
  const out: string[] = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    out.push(`${d.Message} at ${d.Start}`);
  }
  return out;
}

export interface KqlToken {
  literal: boolean;
  /** Decoded value for string literals, source text otherwise. */
  value: string;
}

export function kqlTokens(query: string): KqlToken[] {
  const tokens: KqlToken[] = [];
  let token = Kusto.Language.KustoCode.Parse(query).Syntax.GetFirstToken();
  while (token) {
    if (token.Kind !== END) {
      tokens.push(
        token.Kind === STRING_LITERAL ? { literal: true, value: token.ValueText } : { literal: false, value: token.Text },
      );
    }
    token = token.GetNextToken();
  }
  return tokens;
}

/** The query's shape: every non-literal token, with each literal replaced by a placeholder. */
export function kqlShape(query: string): string[] {
  return kqlTokens(query).map((t) => (t.literal ? '<string>' : t.value));
}

export function kqlLiterals(query: string): string[] {
  return kqlTokens(query)
    .filter((t) => t.literal)
    .map((t) => t.value);
}
