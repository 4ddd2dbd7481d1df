/**
 * `npm start`: the local stack on a fresh machine, no Clarifai account needed.
 *   - the Clarifai emulator on 127.0.0.1:8788 (EMULATOR_PORT moves it, and rekey with it), seeded
 *     with a demo user, app and manager PAT (skipped when CLARIFAI_API_BASE points at a real
 *     Clarifai; see ./lib/clarifai-target.ts);
 *   - beside it (same port, under /cloudflare) the Cloudflare API emulator, which rekey's Worker
 *     secret sinks use unless CLOUDFLARE_API_BASE or CLOUDFLARE_API_TOKEN say otherwise;
 *   - the Worker under `wrangler dev` on 127.0.0.1:8787 with local KV/Queues/DOs and
 *     `--test-scheduled` (GET /__scheduled fires the cron handler).
 * Configuration: .dev.vars, overridden by the environment. Ctrl-C stops both.
 * A configuration the Worker refuses (503 config_invalid / dev_secrets_refused) is printed, and
 * the stack keeps running and answering 503, as a deployed Worker would.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulatorServer } from "../emulator/node/serve.ts";
import { formatDotenv } from "./lib/format-dotenv.ts";
import { clarifaiTarget } from "./lib/clarifai-target.ts";
import { ensureDevVars, loadLocalConfig } from "./lib/local-config.ts";
import { parseDotenv } from "../src/adapters/dotenv.ts";
import { readFileSync } from "node:fs";
import { DEMO_GITHUB, githubTarget, startDevGithub } from "./lib/github-dev.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8787);

const { created } = ensureDevVars(root);
if (created) console.log("Created .dev.vars from .dev.vars.example (development-only secrets).");
const { merged, overrides } = loadLocalConfig(root);

const { useEmulator, emulatorPort } = clarifaiTarget(
  parseDotenv(readFileSync(`${root}/.dev.vars`, "utf8")),
  process.env,
);
let emulator: Awaited<ReturnType<typeof startEmulatorServer>> | undefined;
let seeded: { userId: string; appId: string; pat: string } | undefined;
if (useEmulator) {
  emulator = await startEmulatorServer({
    host: "127.0.0.1",
    port: emulatorPort,
    seed: { patToken: merged.EMULATOR_SEED_PAT },
  });
  seeded = emulator.seeded;
  overrides.CLARIFAI_API_BASE = emulator.url;
  // The embedded Cloudflare API emulator, unless a Cloudflare of your own is configured.
  if (!merged.CLOUDFLARE_API_BASE && !merged.CLOUDFLARE_API_TOKEN) {
    overrides.CLOUDFLARE_API_BASE = emulator.cloudflareApiBase;
    overrides.CLOUDFLARE_API_TOKEN = emulator.cloudflareSeeded!.token;
  }
}

// The local GitHub (scripts/lib/github-dev.ts), delivering its webhooks to this stack.
const github = githubTarget(parseDotenv(readFileSync(`${root}/.dev.vars`, "utf8")), process.env);
const githubServer = github.useEmulator
  ? await startDevGithub(merged, { port: github.port, rekeyUrl: `http://127.0.0.1:${port}` })
  : undefined;
if (githubServer) overrides.GITHUB_API_BASE = githubServer.url;

// Overrides reach wrangler through a second env file (later files win) rather than `--var` flags,
// which would put secrets on the process list.
// One file per port, so that two stacks on different ports (e.g. the browser test's) do not
// overwrite each other's overrides.
const overrideFile = `${root}/.wrangler/start-overrides-${port}.env`;
mkdirSync(dirname(overrideFile), { recursive: true });
writeFileSync(overrideFile, formatDotenv(overrides), { mode: 0o600 });
chmodSync(overrideFile, 0o600);

const wrangler = spawn(
  `${root}/node_modules/.bin/wrangler`,
  [
    "dev",
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--test-scheduled",
    "--env-file",
    `${root}/.dev.vars`,
    "--env-file",
    overrideFile,
    "--show-interactive-dev-session=false",
    "--log-level",
    process.env.WRANGLER_LOG ?? "warn",
    // REKEY_PERSIST_TO: where the local KV/Durable Objects/Queues live (default .wrangler/state);
    // the browser test starts its own stack with a fresh directory.
    ...(process.env.REKEY_PERSIST_TO ? ["--persist-to", process.env.REKEY_PERSIST_TO] : []),
  ],
  {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    // rekey never reads request.cf; without this, wrangler tries to download it and prints a stack
    // trace on machines without network. Set CLOUDFLARE_CF_FETCH_ENABLED=true to fetch it anyway.
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
  },
);

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  wrangler.kill("SIGTERM");
  await emulator?.close();
  await githubServer?.close();
  rmSync(overrideFile, { force: true });
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
wrangler.on("exit", (code) => void stop(code ?? 1));

const base = `http://127.0.0.1:${port}`;
const problem = await waitForHealth(`${base}/healthz`);
const token = merged.REKEY_ADMIN_TOKEN ?? "<REKEY_ADMIN_TOKEN>";
console.log(`
rekey is running.
  worker    ${base}  (wrangler dev, local KV/Queues/Durable Objects, cron via ${base}/__scheduled)
  clarifai  ${
  useEmulator
    ? `${emulator!.url}  (local emulator: user "${seeded!.userId}", app "${seeded!.appId}", dev manager PAT ${
      seeded!.pat
    })`
    : `${merged.CLARIFAI_API_BASE ?? "https://api.clarifai.com"} (real Clarifai; emulator not started)`
}${
  overrides.CLOUDFLARE_API_BASE
    ? `
  cloudflare ${overrides.CLOUDFLARE_API_BASE}  (local API emulator: account ${
      emulator!.cloudflareSeeded!.accountId
    }, Worker "${emulator!.cloudflareSeeded!.script}")`
    : ""
}
  github    ${
  githubServer
    ? `${githubServer.url}  (local emulator: repository "${DEMO_GITHUB.repository}", webhooks to ${base}/hooks/github/events)`
    : `${merged.GITHUB_API_BASE ?? "https://api.github.com"} (emulator not started)`
}

Try:
  curl -s ${base}/healthz
  curl -s -H 'Authorization: Bearer ${token}' ${base}/v1/credentials
  npm run demo
Ctrl-C stops everything.`);

if (problem) {
  // Names and codes only, as the Worker answers them: never a value.
  console.error(`
!!! rekey refuses its configuration: ${problem.code} (${problem.variables.join(", ")})
    ${problem.message}
    Every route answers 503 until it is fixed (edit .dev.vars or the environment, then restart).`);
  if (problem.code === "dev_secrets_refused" && merged.REKEY_DEV_MODE === undefined) {
    console.error(
      "    Your .dev.vars predates REKEY_DEV_MODE: add the line REKEY_DEV_MODE=true (see .dev.vars.example).",
    );
  }
}

interface ConfigProblem {
  code: string;
  message: string;
  variables: string[];
}

/** Waits until the Worker answers /healthz: healthy (undefined), or refusing its configuration (the problem). */
async function waitForHealth(url: string): Promise<ConfigProblem | undefined> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return undefined;
      const body = (await res.json().catch(() => ({}))) as { error?: Partial<ConfigProblem> };
      if (res.status === 503 && (body.error?.code === "config_invalid" || body.error?.code === "dev_secrets_refused")) {
        return { code: body.error.code, message: body.error.message ?? "", variables: body.error.variables ?? [] };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.error(`rekey did not answer ${url} within 150 s`);
  await stop(1);
  return undefined;
}
