import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env.ts";
import { VERSION } from "../version.ts";

export const healthSchema = z.strictObject({
  status: z.literal("ok"),
  version: z.string(),
  /** True when Clarifai is the local emulator (a loopback CLARIFAI_API_BASE), false for a real Clarifai. */
  clarifai_emulator: z.boolean(),
});

/**
 * Liveness plus the two facts an operator checks first: which build, and whether it talks to a
 * real Clarifai. Unauthenticated, so it shows no configuration value: CLARIFAI_API_BASE may carry
 * userinfo or an internal host name. A configuration problem never reaches here: the config gate
 * (src/http/config-gate.ts) answers 503 first.
 */
export const health = new Hono<AppEnv>().get(
  "/healthz",
  (c) =>
    c.json({
      status: "ok" as const,
      version: VERSION,
      clarifai_emulator: isLocalEmulator(c.var.services.config.CLARIFAI_API_BASE),
    }),
);

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The emulator runs beside rekey on loopback (npm start, tests); a deployed Worker cannot reach loopback at all. */
function isLocalEmulator(apiBase: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(apiBase).hostname);
  } catch {
    return false;
  }
}
