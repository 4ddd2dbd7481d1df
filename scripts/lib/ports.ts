import { createServer } from "node:net";

/** A loopback port free right now: the bench and the browser test never take 8787/8788, which `npm start` may hold. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
