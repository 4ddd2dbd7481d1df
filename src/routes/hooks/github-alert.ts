/**
 * The body of a GitHub secret scanning partner alert: its contract (`githubAlertSchema`, which the
 * OpenAPI document shows) and a hand-written check of the same contract for the request path.
 *
 * Why two: a batch is up to 10,000 items, and zod's walk of them was about a quarter of the CPU
 * samples of bench P5's `github_batch_1000` (1,000 tokens, a 10 ms budget), more than any one of
 * our files. The check accepts exactly what the schema accepts and returns the same output
 * (unknown keys dropped, as `z.object` does); the bounds are the constants below, read by both,
 * so they cannot drift, and github-alert.test.ts checks the two agree on random inputs and on
 * fixed cases for the object rules random JSON rarely reaches (a zod upgrade that changes a rule
 * those exercise fails it). On any refusal the route runs the schema itself, so an
 * error answer is zod's paths and codes, exactly as before, and never an input value.
 */
import * as z from "zod/mini";

/**
 * Tokens per alert. `alert.received` counts them (≤ 10,000 by its schema), and 10,000 realistic
 * items (token, type, a blob URL, source: ~200 bytes each) fit MAX_GITHUB_ALERT_BYTES (src/app.ts).
 */
export const MAX_GITHUB_TOKENS = 10_000;
/**
 * Field bounds, in code points: zod 4.6 measures a string in code points (a surrogate pair is one)
 * once it is over a bound in UTF-16 units, so 33 emoji (66 units) fit a bound of 64.
 */
const MAX_TOKEN = 4096;
const MAX_TYPE = 256;
const MAX_URL = 4096;
const MAX_SOURCE = 64;

export const githubAlertSchema = z
  .array(
    z.object({
      token: z.string().check(z.minLength(1), z.maxLength(MAX_TOKEN)),
      type: z.string().check(z.maxLength(MAX_TYPE)),
      url: z.optional(z.string().check(z.maxLength(MAX_URL))),
      source: z.optional(z.string().check(z.maxLength(MAX_SOURCE))),
    }),
  ).check(z.minLength(1), z.maxLength(MAX_GITHUB_TOKENS));

type GithubAlertItem = z.infer<typeof githubAlertSchema>[number];

/**
 * `input` as `githubAlertSchema` would return it, or undefined where the schema would refuse it.
 * It mirrors zod 4's rules one by one: an item is any non-null non-array object; an optional key
 * is absent from the output when absent from the input (`in`, prototype included, as zod tests
 * it) and kept, `undefined` included, when present; output keys are in the schema's order.
 */
export function checkGithubAlert(input: unknown): GithubAlertItem[] | undefined {
  if (!Array.isArray(input) || input.length < 1 || input.length > MAX_GITHUB_TOKENS) return undefined;
  const out: GithubAlertItem[] = [];
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (typeof item !== "object" || item === null || Array.isArray(item)) return undefined;
    const { token, type } = item as Record<string, unknown>;
    // One unit is one code point, so `length < 1` is zod's `minLength(1)` exactly.
    if (typeof token !== "string" || token.length < 1 || !within(token, MAX_TOKEN)) return undefined;
    if (typeof type !== "string" || !within(type, MAX_TYPE)) return undefined;
    const parsed: GithubAlertItem = { token, type };
    if ("url" in item) {
      const url = (item as Record<string, unknown>).url;
      if (url !== undefined && (typeof url !== "string" || !within(url, MAX_URL))) return undefined;
      parsed.url = url;
    }
    if ("source" in item) {
      const source = (item as Record<string, unknown>).source;
      if (source !== undefined && (typeof source !== "string" || !within(source, MAX_SOURCE))) return undefined;
      parsed.source = source;
    }
    out.push(parsed);
  }
  return out;
}

/**
 * zod's `maxLength` on a string: within in UTF-16 units, or else in code points (a string's
 * iterator yields a surrogate pair as one, a lone surrogate as one: zod's count exactly).
 */
function within(s: string, max: number): boolean {
  // A code point is at most two units, so over twice the bound is over it in code points too:
  // refused without spreading a string of up to 2 MiB into an array.
  return s.length <= max || (s.length <= 2 * max && [...s].length <= max);
}
