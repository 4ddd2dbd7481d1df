/**
 * Parses `.dev.vars` exactly as `wrangler dev` does, so the Deno entry point (adapters/deno-env.ts)
 * and the npm scripts see the same configuration as the Worker. wrangler 4 reads `.dev.vars` with
 * `dotenv.parse` from dotenv 16.3.1 (bundled in wrangler-dist/cli.js, no variable expansion); this is
 * that parser's line grammar and unquoting (https://github.com/motdotla/dotenv/blob/v16.3.1/lib/main.js):
 * `KEY=value` or `KEY: value`, optional `export `, `#` starts a comment after an unquoted value or
 * after a closing quote, a quoted value may span lines, and only double quotes expand `\n` and `\r`.
 */
const LINE =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\r\n?/gm, "\n");
  for (const match of lines.matchAll(LINE)) {
    let value = (match[2] ?? "").trim();
    const quote = value[0];
    value = value.replace(/^(['"`])([\s\S]*)\1$/gm, "$2");
    if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    out[match[1]!] = value;
  }
  return out;
}
