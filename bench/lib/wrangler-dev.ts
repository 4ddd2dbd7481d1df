/**
 * One worker under `wrangler dev --local` (workerd), as `npm start` runs it, but on free ports,
 * with its own persistence directory (never the .wrangler/state that `npm start` uses) and the
 * inspector on a free port so the bench can run beside other wrangler sessions.
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatDotenv } from "../../scripts/lib/format-dotenv.ts";
import { freePort } from "../../scripts/lib/ports.ts";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const outDir = `${root}/bench/out`;

export interface DevWorker {
  url: string;
  /** wrangler's inspector proxy (Chrome DevTools Protocol at ws://127.0.0.1:<port>/ws): bench P5 profiles through it. */
  inspectorPort: number;
  /** The wrangler process: its workerd is a child of it (bench P5 reads that process's CPU time). */
  pid: number;
  stop(): Promise<void>;
}

export async function startDevWorker(opts: {
  name: string;
  config: string;
  /** Files in wrangler's env-file format; later ones win. */
  envFiles?: string[];
  vars?: Record<string, string>;
}): Promise<DevWorker> {
  const [port, inspector] = [await freePort(), await freePort()];
  const dir = `${outDir}/${opts.name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const envFiles = [...(opts.envFiles ?? [])];
  if (opts.vars) {
    // Through a file rather than `--var`, which would put secrets on the process list.
    writeFileSync(`${dir}/vars.env`, formatDotenv(opts.vars), { mode: 0o600 });
    envFiles.push(`${dir}/vars.env`);
  }
  const args = [
    "dev",
    "--local",
    "--config",
    opts.config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--persist-to",
    `${dir}/state`,
    "--show-interactive-dev-session=false",
    "--log-level",
    process.env.WRANGLER_LOG ?? "error",
    ...envFiles.flatMap((f) => ["--env-file", f]),
  ];
  // wrangler's own output goes to bench/out/<name>/wrangler.log (WRANGLER_LOG=debug says why a
  // Worker restarted, for example).
  const out = openSync(`${dir}/wrangler.log`, "w");
  const child = spawn(`${root}/node_modules/.bin/wrangler`, args, {
    cwd: root,
    stdio: ["ignore", out, "inherit"],
    detached: true,
    // No network here, and rekey never reads request.cf (see scripts/start.ts).
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
  });
  let exited = false;
  const gone = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  const kill = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.once("exit", kill);
  const stop = async () => {
    kill();
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && !exited; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, inspectorPort: inspector, pid: child.pid!, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev for "${opts.name}" did not answer ${url}/healthz within 150 s`);
}
