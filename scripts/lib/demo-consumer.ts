/**
 * The demo's consumer Worker (clients/worker/example/): a second `wrangler dev`, on a free
 * loopback port, bound to `npm start`'s rekey through wrangler's dev registry
 * (`[[services]] service = "rekey", entrypoint = "RekeyCredentials", props = { consumer = "demo-consumer" }`),
 * calling the local Clarifai emulator with the key it reads.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { root } from "./stack.ts";

export async function startDemoConsumer(clarifaiBase: string) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    `${root}/node_modules/.bin/wrangler`,
    [
      "dev",
      "-c",
      `${root}/clients/worker/example/wrangler.toml`,
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--var",
      `CLARIFAI_API_BASE:${clarifaiBase}`,
      "--persist-to",
      mkdtempSync(join(tmpdir(), "rekey-demo-consumer-")),
      "--show-interactive-dev-session=false",
      "--log-level",
      "error",
    ],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      detached: true,
      env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
    },
  );
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.on("exit", stop);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stop,
    /** What the consumer says about its key (`fingerprint_prefix`, `attempts`, `clarifai_status`), once it is up. */
    async read(credentialId: string): Promise<any> {
      for (let i = 0; i < 240; i++) {
        try {
          const res = await fetch(`${url}/?credential=${credentialId}`);
          const body = (await res.json()) as any;
          // Until wrangler's dev registry connects the binding, the read is refused as unavailable.
          if (res.ok || body.refused !== "unavailable") return body;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error("the demo consumer Worker did not come up within 60 s");
    },
  };
}
