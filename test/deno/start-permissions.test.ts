/**
 * `deno task start` grants `--allow-env` by name (the least the server needs), so a variable added
 * to src/config.ts must be added to deno.json too, or the Deno server fails reading it.
 */
import assert from "node:assert/strict";
import { DENO_ENV_VARS } from "../../src/adapters/deno-env.ts";

Deno.test("deno task start may read every variable rekey knows", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url))) as {
    tasks: Record<string, string>;
  };
  const flag = config.tasks.start!.split(/\s+/).find((w) => w.startsWith("--allow-env="));
  assert.ok(flag, "the start task names the variables it reads");
  const granted = flag.slice("--allow-env=".length).split(",");
  const missing = DENO_ENV_VARS.filter((name) => !granted.includes(name));
  assert.deepEqual(missing, [], `add ${missing.join(",")} to --allow-env of deno.json's start task`);
});
