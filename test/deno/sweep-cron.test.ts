/**
 * The sweep's Deno.cron registration (src/adapters/deno-cron.ts, called by src/deno.ts): the
 * schedule is wrangler.toml's `[triggers] crons`, and the registered callback itself, run here on
 * a real Deno KV queue, starts a sweep (its first `sweep.batch` page); with a refused
 * configuration it starts none.
 */
import assert from "node:assert/strict";
import { DenoKvBus } from "../../src/adapters/deno-kv-bus.ts";
import { registerSweepCron, SWEEP_CRON } from "../../src/adapters/deno-cron.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../../${path}`, import.meta.url));

Deno.test("Deno.cron's sweep schedule is wrangler.toml's [triggers] crons, and src/deno.ts registers it", async () => {
  const triggers = (await read("wrangler.toml")).match(/^\[triggers\]\s*\ncrons\s*=\s*\[([^\]]*)\]/m)?.[1];
  assert.ok(triggers !== undefined, "wrangler.toml has [triggers] crons");
  assert.deepEqual([...triggers.matchAll(/"([^"]+)"/g)].map((m) => m[1]), [SWEEP_CRON]);
  assert.match(
    await read("src/deno.ts"),
    /^registerSweepCron\(Deno\.cron, bus, /m,
    "src/deno.ts registers the sweep with Deno.cron at the top level",
  );
});

/** Registers the sweep with a cron that keeps the callback, and runs it as Deno.cron would. */
async function tick(enabled: boolean, now: number) {
  const kv = await Deno.openKv(":memory:");
  const got: unknown[] = [];
  kv.listenQueue((msg) => void got.push(msg));
  let registered: { name: string; schedule: string; handler: () => Promise<void> } | undefined;
  registerSweepCron((name, schedule, _opts, handler) => (registered = { name, schedule, handler }), new DenoKvBus(kv), {
    enabled,
    now: () => now,
  });
  assert.ok(registered, "registerSweepCron registered a cron job");
  assert.equal(registered.schedule, SWEEP_CRON);
  await registered.handler();
  await new Promise((r) => setTimeout(r, 200)); // let the queue deliver
  kv.close();
  return got;
}

Deno.test("the registered cron callback starts a sweep: one sweep.batch for that minute", async () => {
  const now = Date.parse("2026-06-01T12:15:00Z");
  const got = await tick(true, now);
  assert.equal(got.length, 1);
  const event = JSON.parse((got[0] as { body: string }).body);
  assert.equal(event.type, "sweep.batch");
  assert.equal(event.data.sweep_id, `swp_${Math.floor(now / 60_000).toString(36)}`, "the sweep of the tick's minute");
  assert.equal(event.data.cursor, null, "from the first page of the registry");
});

Deno.test("with a refused configuration the registered callback starts no sweep", async () => {
  assert.deepEqual(await tick(false, Date.now()), []);
});
