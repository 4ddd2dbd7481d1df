/**
 * Serves an emulator's fetch handler on Node, for the Clarifai and the GitHub emulator's hosts. A
 * "drop" fault (DropConnection) destroys the socket, so clients see a real network failure, not an
 * answer; `close()` ends open connections too, so a test's teardown does not wait on keep-alives.
 */
import { type Http2Bindings, type HttpBindings, serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { DropConnection } from "../src/faults.ts";

type Bindings = HttpBindings | Http2Bindings;

export async function listen(
  host: string,
  port: number,
  handle: (req: Request, env: Bindings) => Response | Promise<Response>,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        hostname: host,
        port,
        fetch: async (req: Request, env: Bindings) => {
          try {
            return await handle(req, env);
          } catch (error) {
            if (error instanceof DropConnection) {
              env.incoming.socket.destroy();
              return new Response(null, { status: 499 });
            }
            throw error;
          }
        },
      },
      () => resolve(s),
    );
    s.once("error", reject);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
