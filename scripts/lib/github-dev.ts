/**
 * The local GitHub for `npm start`, `npm run emulator` and `npm run demo`: the GitHub emulator
 * (emulator/github/, libsodium opening what it receives) on 127.0.0.1:8789 (GITHUB_EMULATOR_PORT),
 * trusting the App key of the configuration (.dev.vars: the committed demo App, development only)
 * and delivering its webhooks, signed with GITHUB_WEBHOOK_SECRET, to rekey's /hooks/github/events.
 * Seeded with organization `demo-org`, repository `demo-org/demo-app` (environment `production`)
 * and the App installed on it.
 *
 * Where rekey is pointed, as for Clarifai (./clarifai-target.ts): GITHUB_API_BASE in the
 * environment wins (the emulator runs only if it names its port on loopback); otherwise
 * `.dev.vars` decides, and an unset or loopback GITHUB_API_BASE means the emulator.
 */
import { createPublicKey } from "node:crypto";
import { type GithubEmulatorServer, startGithubEmulatorServer } from "../../emulator/node/serve-github.ts";

export const DEFAULT_GITHUB_EMULATOR_PORT = 8789;
export const DEMO_GITHUB = { org: "demo-org", repository: "demo-org/demo-app", environment: "production" };

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function githubTarget(
  file: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
): { useEmulator: boolean; port: number } {
  const port = Number(env.GITHUB_EMULATOR_PORT || DEFAULT_GITHUB_EMULATOR_PORT);
  const atEmulator = (base: string | undefined) => {
    try {
      const u = new URL(base ?? "");
      return LOOPBACK.has(u.hostname) && Number(u.port) === port;
    } catch {
      return false;
    }
  };
  if (env.GITHUB_API_BASE) return { useEmulator: atEmulator(env.GITHUB_API_BASE), port };
  const fromFile = file.GITHUB_API_BASE || undefined;
  let loopback = false;
  try {
    loopback = fromFile !== undefined && LOOPBACK.has(new URL(fromFile).hostname);
  } catch {
    // not a URL: the Worker refuses it (config_invalid); no emulator for it
  }
  return { useEmulator: fromFile === undefined || loopback, port };
}

/**
 * Starts the local GitHub. Without an App in the configuration (a `.dev.vars` from before issue
 * 17) it still starts, and rekey simply has no GitHub credentials.
 */
export async function startDevGithub(
  config: Record<string, string | undefined>,
  opts: { port: number; rekeyUrl: string },
): Promise<GithubEmulatorServer> {
  const key = config.GITHUB_APP_PRIVATE_KEY;
  const server = await startGithubEmulatorServer({
    host: "127.0.0.1",
    port: opts.port,
    webhook: {
      url: `${opts.rekeyUrl}/hooks/github/events`,
      ...(config.GITHUB_WEBHOOK_SECRET ? { secret: config.GITHUB_WEBHOOK_SECRET } : {}),
    },
    ...(key && config.GITHUB_APP_ID
      ? {
        app: {
          id: config.GITHUB_APP_ID,
          publicKeyPem: createPublicKey(key.replace(/\\n/g, "\n")).export({ type: "spki", format: "pem" }).toString(),
        },
      }
      : {}),
  });
  await server.emulator.seed(DEMO_GITHUB);
  return server;
}
