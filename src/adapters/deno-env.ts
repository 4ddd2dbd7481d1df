/**
 * The Deno server's environment: every variable rekey knows, from `Deno.env`, falling back to a
 * `.dev.vars` file (the format wrangler reads) for what the environment does not set, so
 * `deno task start` and `npm start` read the same local configuration the same way.
 *
 * Variables are read one name at a time, so the process needs `--allow-env` for those names only.
 * The file is optional: deployments (Deno Deploy, containers) configure through the environment.
 */
import { configSchema } from "../config.ts";
import { parseDotenv } from "./dotenv.ts";

/** Settings of the Deno host itself; the Worker gets the equivalents from wrangler. */
const DENO_HOST_VARS = ["PORT", "HOST", "REKEY_DENO_KV_PATH"] as const;

export const DENO_ENV_VARS: readonly string[] = [...Object.keys(configSchema.shape), ...DENO_HOST_VARS];

export async function readDenoEnv(
  dotenvPath = ".dev.vars",
): Promise<{ vars: Record<string, string>; dotenv: boolean }> {
  let file: Record<string, string> = {};
  let dotenv = false;
  try {
    file = parseDotenv(await Deno.readTextFile(dotenvPath));
    dotenv = true;
  } catch (error) {
    // A deployment that grants no read access to the file has opted out of it, like one without it.
    if (
      !(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied)
    ) throw error;
  }
  const vars: Record<string, string> = {};
  for (const name of DENO_ENV_VARS) {
    const value = Deno.env.get(name) ?? file[name];
    if (value !== undefined) vars[name] = value;
  }
  return { vars, dotenv };
}
