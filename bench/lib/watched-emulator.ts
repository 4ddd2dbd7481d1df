/**
 * The Clarifai emulator on loopback, hosted in the bench's own process so the moment a key is
 * deleted is read from the emulator itself (when its DELETE handler has answered 200) rather than
 * by polling, which would add the poll interval to every sample. rekey and the floor script are
 * timed against the same clock at the same point.
 */
import { type EmulatorServer, startEmulatorServer } from "../../emulator/node/serve.ts";
import { createEmulator } from "../../emulator/src/index.ts";

const DELETE_KEY = /^\/v2\/users\/[^/]+\/keys\/([^/?]+)$/;

export interface WatchedEmulator extends EmulatorServer {
  /** Resolves with performance.now() when the emulator has deleted this key id. */
  deleted(keyId: string): Promise<number>;
}

export async function startWatchedEmulator(): Promise<WatchedEmulator> {
  const emulator = createEmulator();
  const seen = new Map<string, number>();
  const waiting = new Map<string, (t: number) => void>();
  const inner = emulator.app.fetch;
  emulator.app.fetch = async (req, ...rest) => {
    const res = await inner(req, ...rest);
    if (req.method === "DELETE" && res.status === 200) {
      const id = DELETE_KEY.exec(new URL(req.url).pathname)?.[1];
      if (id) {
        const t = performance.now();
        seen.set(id, t);
        waiting.get(id)?.(t);
      }
    }
    return res;
  };
  const server = await startEmulatorServer({
    host: "127.0.0.1",
    port: 0,
    emulator,
    seed: { userId: "bench", appId: "bench-app" },
  });
  return {
    ...server,
    deleted: (keyId) => {
      const t = seen.get(keyId);
      return t !== undefined ? Promise.resolve(t) : new Promise((r) => waiting.set(keyId, r));
    },
  };
}
