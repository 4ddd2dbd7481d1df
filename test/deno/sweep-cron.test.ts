/**
 * The sweep runs on the same schedule on both runtimes: src/deno.ts's `Deno.cron` and
 * wrangler.toml's `[triggers] crons`. src/deno.ts is an entry point (importing it starts a
 * server), so its constant is read from the source text.
 */
import assert from "node:assert/strict";

const read = (path: string) => Deno.readTextFile(new URL(`../../${path}`, import.meta.url));

Deno.test("Deno.cron's sweep schedule is wrangler.toml's [triggers] crons", async () => {
  const deno = (await read("src/deno.ts")).match(/^const SWEEP_CRON = "([^"]+)";$/m)?.[1];
  assert.ok(deno, "src/deno.ts declares const SWEEP_CRON = \"…\"");
  const triggers = (await read("wrangler.toml")).match(/^\[triggers\]\s*\ncrons\s*=\s*\[([^\]]*)\]/m)?.[1];
  assert.ok(triggers !== undefined, "wrangler.toml has [triggers] crons");
  const crons = [...triggers.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(crons, [deno]);
});
