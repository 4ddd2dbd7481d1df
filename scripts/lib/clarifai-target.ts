/**
 * Where `npm start` (and `npm run demo`) point rekey at Clarifai, from `.dev.vars` and the
 * environment of the command. No Node APIs: test/workers/start-clarifai-target.test.ts runs it.
 *
 * - CLARIFAI_API_BASE in the environment is explicit and wins; the emulator runs only if it points
 *   at the emulator's port on loopback.
 * - Otherwise EMULATOR_PORT in the environment moves the emulator, and rekey follows it there,
 *   unless `.dev.vars` names a Clarifai that is not on loopback (a real one: also explicit). The
 *   committed `.dev.vars.example` points at 127.0.0.1:8788, which is only the emulator's default
 *   place, so it must not keep rekey there when the emulator runs elsewhere.
 * - Otherwise `.dev.vars` decides, as before: the emulator runs when it points at its port.
 */
export const DEFAULT_EMULATOR_PORT = 8788;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function url(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

export interface ClarifaiTarget {
  emulatorPort: number;
  /** Start the local emulator on emulatorPort and point rekey at it. */
  useEmulator: boolean;
  /** Without the emulator: where rekey is pointed (undefined: the Worker's default, the real Clarifai). */
  apiBase: string | undefined;
}

export function clarifaiTarget(
  file: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
): ClarifaiTarget {
  const emulatorPort = Number(env.EMULATOR_PORT || DEFAULT_EMULATOR_PORT);
  const atEmulator = (base: string | undefined) => {
    const u = url(base);
    return u !== undefined && LOOPBACK.has(u.hostname) && Number(u.port) === emulatorPort;
  };
  if (env.CLARIFAI_API_BASE) {
    return { emulatorPort, useEmulator: atEmulator(env.CLARIFAI_API_BASE), apiBase: env.CLARIFAI_API_BASE };
  }
  const fromFile = file.CLARIFAI_API_BASE || undefined;
  if (env.EMULATOR_PORT) {
    const u = url(fromFile);
    const elsewhere = u !== undefined && !LOOPBACK.has(u.hostname);
    return { emulatorPort, useEmulator: !elsewhere, apiBase: fromFile };
  }
  return { emulatorPort, useEmulator: !fromFile || atEmulator(fromFile), apiBase: fromFile };
}
