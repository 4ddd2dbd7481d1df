/**
 * Local configuration for `npm start`, `npm run demo` and the Deno task: `.dev.vars` (created from
 * the committed `.dev.vars.example` when missing), overridden by any rekey variable set in the
 * process environment.
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { configSchema } from "../../src/config.ts";
import { parseDotenv } from "../../src/adapters/dotenv.ts";

export const EXTRA_VARS = ["EMULATOR_SEED_PAT"] as const;
export const KNOWN_VARS = [...Object.keys(configSchema.shape), ...EXTRA_VARS];

export function ensureDevVars(root: string): { created: boolean } {
  const path = `${root}/.dev.vars`;
  if (existsSync(path)) return { created: false };
  copyFileSync(`${root}/.dev.vars.example`, path);
  return { created: true };
}

/** `.dev.vars` values, then the environment's: the environment wins, as the README promises. */
export function loadLocalConfig(root: string, env: NodeJS.ProcessEnv = process.env) {
  const file = parseDotenv(readFileSync(`${root}/.dev.vars`, "utf8"));
  const overrides: Record<string, string> = {};
  for (const name of KNOWN_VARS) {
    const value = env[name];
    if (value !== undefined) overrides[name] = value;
  }
  return { merged: { ...file, ...overrides }, overrides };
}
