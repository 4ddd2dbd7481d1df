/**
 * For scripts that need the local stack (`npm run demo`): use the one `npm start` runs, or start
 * it for the duration of the script.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** /healthz of a running stack (null: nothing answers yet). A refused configuration is an error: the demo cannot run on it. */
export async function healthy(base: string): Promise<{ clarifai_emulator: boolean } | null> {
  let res: Response;
  try {
    res = await fetch(`${base}/healthz`);
  } catch {
    return null;
  }
  const body = (await res.json().catch(() => ({}))) as {
    clarifai_emulator?: boolean;
    error?: { code?: string; variables?: string[] };
  };
  if (res.ok) return { clarifai_emulator: body.clarifai_emulator === true };
  if (body.error?.code === "config_invalid" || body.error?.code === "dev_secrets_refused") {
    throw new Error(
      `rekey at ${base} refuses its configuration: ${body.error.code} (${body.error.variables?.join(", ")})`,
    );
  }
  return null;
}

export async function ensureStack(base: string): Promise<{ clarifaiEmulator: boolean; stop: () => void }> {
  const running = await healthy(base);
  if (running) return { clarifaiEmulator: running.clarifai_emulator, stop: () => {} };
  console.log(`No rekey at ${base}; starting the local stack (npm start) for this run...`);
  const child: ChildProcess = spawn(`${root}/node_modules/.bin/tsx`, [`${root}/scripts/start.ts`], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.on("exit", stop);
  for (let i = 0; i < 600; i++) {
    const h = await healthy(base);
    if (h) return { clarifaiEmulator: h.clarifai_emulator, stop };
    await new Promise((r) => setTimeout(r, 250));
  }
  stop();
  throw new Error("The local stack did not come up within 150 s");
}

/** Shows enough of a token to tell two apart, never enough to use it. */
export const mask = (token: string) => `${token.slice(0, 4)}…${token.slice(-4)}`;
