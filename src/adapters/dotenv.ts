/**
 * Parses the `.dev.vars` / `.env` format wrangler reads: `NAME=value` lines, `#` comments, optional
 * single or double quotes around the value. Used by the Deno entry point (adapters/deno-env.ts) and the
 * npm scripts so both read local configuration exactly as `wrangler dev` does.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const name = line.slice(0, eq).trim().replace(/^export\s+/, "");
    let value = line.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, "\n");
    }
    out[name] = value;
  }
  return out;
}
