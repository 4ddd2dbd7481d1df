/**
 * Node host for the Clarifai emulator: `npx tsx emulator/node/serve.ts` (or `npm run emulator`)
 * listens on 127.0.0.1:$EMULATOR_PORT (default 8788) and seeds a demo user, app and manager PAT.
 * A "drop" fault destroys the socket, so clients see a real network failure.
 * The Cloudflare API emulator (../src/cloudflare/) is served beside it under /cloudflare: its API
 * at /cloudflare/client/v4 (CLOUDFLARE_API_BASE), its control surface at /cloudflare/_emulator/.
 */
import { pathToFileURL } from "node:url";
import { createEmulator, type Emulator } from "../src/index.ts";
import { type CloudflareEmulator, createCloudflareEmulator } from "../src/cloudflare/index.ts";
import { listen } from "./listen.ts";

/** Where the Cloudflare emulator is mounted on the Node host. */
export const CLOUDFLARE_MOUNT = "/cloudflare";

export interface EmulatorServer {
  url: string;
  port: number;
  emulator: Emulator;
  seeded?: { userId: string; appId: string; pat: string };
  cloudflare: CloudflareEmulator;
  /** CLOUDFLARE_API_BASE for a Worker using this host's Cloudflare emulator. */
  cloudflareApiBase: string;
  cloudflareSeeded?: { token: string; accountId: string; script: string };
  close(): Promise<void>;
}

export async function startEmulatorServer(opts: {
  port?: number;
  host?: string;
  seed?: boolean | { userId?: string; appId?: string; patToken?: string | undefined };
  emulator?: Emulator;
  /** Seeds the Cloudflare emulator with a token (this one, or a development default), an account and a Worker. */
  cloudflareToken?: string | undefined;
} = {}): Promise<EmulatorServer> {
  const emulator = opts.emulator ?? createEmulator();
  const cloudflare = createCloudflareEmulator();
  const cloudflareSeeded = opts.seed
    ? cloudflare.seed(opts.cloudflareToken ? { token: opts.cloudflareToken } : {})
    : undefined;
  const seeded = opts.seed ? emulator.seed(typeof opts.seed === "object" ? dropUndefined(opts.seed) : {}) : undefined;
  const host = opts.host ?? "127.0.0.1";
  const { url, port, close } = await listen(host, opts.port ?? 0, (req, env) => {
    const path = new URL(req.url);
    if (path.pathname.startsWith(`${CLOUDFLARE_MOUNT}/`)) {
      path.pathname = path.pathname.slice(CLOUDFLARE_MOUNT.length);
      return cloudflare.app.fetch(new Request(path, req), env);
    }
    return emulator.app.fetch(req, env);
  });
  return {
    url,
    port,
    emulator,
    ...(seeded ? { seeded } : {}),
    cloudflare,
    cloudflareApiBase: `${url}${CLOUDFLARE_MOUNT}/client/v4`,
    ...(cloudflareSeeded ? { cloudflareSeeded } : {}),
    close,
  };
}

function dropUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.env.EMULATOR_PORT ?? 8788);
  const server = await startEmulatorServer({ port, seed: { patToken: process.env.EMULATOR_SEED_PAT || undefined } });
  const s = server.seeded!;
  const cf = server.cloudflareSeeded!;
  console.log(`Clarifai emulator on ${server.url}
  user ${s.userId}, app ${s.appId}, manager PAT ${s.pat} (development only; scopes All)
  control surface: ${server.url}/_emulator/state
Cloudflare API emulator on ${server.cloudflareApiBase}
  account ${cf.accountId}, Worker ${cf.script}, API token ${cf.token} (development only)
  control surface: ${server.url}${CLOUDFLARE_MOUNT}/_emulator/state`);
  // The GitHub emulator beside it, for a rekey on 127.0.0.1:$PORT (deno task start). Optional: a
  // port already taken (another stack's) leaves it out rather than taking Clarifai's down with it.
  const { ensureDevVars, loadLocalConfig } = await import("../../scripts/lib/local-config.ts");
  const { githubTarget, startDevGithub } = await import("../../scripts/lib/github-dev.ts");
  const root = new URL("../..", import.meta.url).pathname;
  ensureDevVars(root);
  const githubPort = githubTarget({}, process.env).port;
  const github = await startDevGithub(loadLocalConfig(root).merged, {
    port: githubPort,
    rekeyUrl: `http://127.0.0.1:${process.env.PORT ?? 8787}`,
  }).catch((error: Error) => {
    console.log(`GitHub emulator not started on ${githubPort}: ${error.message}`);
    return undefined;
  });
  if (github) {
    console.log(
      `GitHub emulator on ${github.url} (repository demo-org/demo-app; webhooks to rekey's /hooks/github/events)`,
    );
  }
  const stop = () => void Promise.all([server.close(), github?.close()]).then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
