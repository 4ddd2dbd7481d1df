/**
 * Writes `.dev.vars` for `npm start` and the bench, in the format src/adapters/dotenv.ts reads.
 * dotenv (which wrangler uses) does not unescape quotes, so each value takes a quote character it
 * does not contain: JSON values get single quotes.
 */
export function formatDotenv(vars: Record<string, string>): string {
  const quoteFor = (v: string) => (!v.includes("'") ? "'" : !v.includes('"') ? '"' : "`");
  return Object.entries(vars)
    .map(([k, v]) => {
      if (v.includes("\n") || (v.includes("'") && v.includes('"') && v.includes("`"))) {
        throw new Error(`Cannot write variable "${k}" to a .env file: its value has newlines or every quote character`);
      }
      const q = quoteFor(v);
      return `${k}=${q}${v}${q}`;
    })
    .join("\n") + "\n";
}
