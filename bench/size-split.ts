/**
 * `npm run size:split`: what each Worker of a split rekey would weigh (issue 20, P3; BENCHMARKS.md
 * says why the split is not done). Nothing is split in the code: each part is today's src/worker.ts
 * built with esbuild (wrangler's settings: es2024, ESM, workerd conditions, minified) with the
 * modules the part would not contain replaced by empty stand-ins, so tree-shaking drops everything
 * only they reach. Each figure is therefore what the part costs with the code as it is now
 * structured; code shared by two parts (zod, Hono, config, services, the engine) counts in both.
 *
 * - ingress: GET /health and the signed alert routes (/hooks/*), the path P1 times. No queue, no
 *   cron, no Durable Object classes (it would reach them by `script_name` bindings).
 * - admin: the admin API, the dashboard, chat ops, /openapi.json. No queue, no cron, no classes.
 *   `api` (admin API, chat ops, /openapi.json) and `ui` (the dashboard) are admin cut in two;
 *   `…/core-drives` is that part if a rotation begun there (rotate now, revoke) were driven to its
 *   end by core from its `rotation.requested` event (as the queue's rotator already can) instead of
 *   in the request: the rotation steps, the sinks and their crypto leave the part.
 * - core: the queue consumer (every subscriber: rotation, notify, sinks), the cron sweep, the
 *   Durable Object classes and the RekeyCredentials entrypoint. No HTTP routes.
 *
 * `base` is what every HTTP part carries before its first route: Hono, the app's middleware, the
 * configuration check and `buildServices` (which builds the rotation engine and both API clients).
 *
 * `full` is the same build with nothing stubbed: its distance from `npm run check:size`'s figure
 * is what this build differs from wrangler's.
 */
import { build, type Plugin } from "esbuild";
import { gzipSync } from "node:zlib";
import { root } from "./lib/wrangler-dev.ts";
import { build as wranglerBuild } from "./p3-bundle-size.ts";

/** Modules replaced by stand-ins (resolved path under src/ -> the stand-in's source). */
type Stubs = Record<string, string>;

const honoStub = (name: string) => `import { Hono } from "hono/tiny"; export const ${name} = new Hono();`;
const noBus = {
  "core/subscribers/index.ts": "export const subscribeAll = () => {}; export const onDeadLetter = async () => {};",
  "core/sweep/run.ts": "export const startSweep = async () => {};",
  "adapters/queue-consumer.ts":
    "export const handleQueueBatch = async () => {}; export const deferQueueBatch = async () => {};",
};

/** A manual rotation begun over HTTP is driven by core, from its event, not in the request. */
const noDrive = "export const driveRotation = async () => undefined;";

/** Text edits to src/worker.ts: each must match, so a change there fails this loudly. */
const dropClasses: [RegExp, string][] = [
  [/^export \{ CredentialCell \} from .*$/m, ""],
  [/^export \{ EventLedger \} from .*$/m, ""],
  [/^export \{ Stats \} from .*$/m, ""],
  [/^export class RekeyCredentials [\s\S]*?^\}$/m, ""],
];

const parts: { name: string; stubs: Stubs; edits: [RegExp, string][] }[] = [
  { name: "full", stubs: {}, edits: [] },
  {
    name: "ingress",
    stubs: {
      ...noBus,
      "routes/v1/index.ts": honoStub("v1"),
      "routes/chatops/index.ts": honoStub("chatops"),
      "ui/routes.ts": honoStub("ui"),
    },
    edits: dropClasses,
  },
  {
    name: "admin",
    stubs: { ...noBus, "routes/hooks/index.ts": honoStub("hooks") },
    edits: dropClasses,
  },
  {
    name: "api",
    stubs: { ...noBus, "routes/hooks/index.ts": honoStub("hooks"), "ui/routes.ts": honoStub("ui") },
    edits: dropClasses,
  },
  {
    name: "ui",
    stubs: {
      ...noBus,
      "routes/hooks/index.ts": honoStub("hooks"),
      "routes/v1/index.ts": honoStub("v1"),
      "routes/chatops/index.ts": honoStub("chatops"),
    },
    edits: dropClasses,
  },
  {
    name: "api/core-drives",
    stubs: {
      ...noBus,
      "routes/hooks/index.ts": honoStub("hooks"),
      "ui/routes.ts": honoStub("ui"),
      "core/rotation/drive.ts": noDrive,
    },
    edits: dropClasses,
  },
  {
    name: "ui/core-drives",
    stubs: {
      ...noBus,
      "routes/hooks/index.ts": honoStub("hooks"),
      "routes/v1/index.ts": honoStub("v1"),
      "routes/chatops/index.ts": honoStub("chatops"),
      "core/rotation/drive.ts": noDrive,
    },
    edits: dropClasses,
  },
  {
    name: "base",
    stubs: {
      ...noBus,
      "routes/hooks/index.ts": honoStub("hooks"),
      "routes/v1/index.ts": honoStub("v1"),
      "routes/chatops/index.ts": honoStub("chatops"),
      "ui/routes.ts": honoStub("ui"),
    },
    edits: dropClasses,
  },
  {
    name: "core",
    stubs: {
      "app.ts": "export const createApp = () => ({ fetch: () => new Response(null, { status: 404 }) });",
    },
    edits: [],
  },
];

function plugin(stubs: Stubs, edits: [RegExp, string][]): Plugin {
  return {
    name: "split",
    setup(b) {
      b.onLoad({ filter: /\.(ts|tsx)$/ }, async (args) => {
        const rel = args.path.startsWith(`${root}/src/`) ? args.path.slice(`${root}/src/`.length) : undefined;
        if (rel !== undefined && rel in stubs) return { contents: stubs[rel], loader: "ts", resolveDir: `${root}/src` };
        if (rel === "worker.ts" && edits.length) {
          const { readFile } = await import("node:fs/promises");
          let text = await readFile(args.path, "utf8");
          for (const [re, to] of edits) {
            if (!re.test(text)) throw new Error(`src/worker.ts no longer matches ${re}: update bench/size-split.ts`);
            text = text.replace(re, to);
          }
          return { contents: text, loader: "ts" };
        }
        return undefined;
      });
    },
  };
}

async function size(stubs: Stubs, edits: [RegExp, string][]) {
  const out = await build({
    entryPoints: [`${root}/src/worker.ts`],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2024",
    supported: { "import-source": true },
    conditions: ["workerd", "worker", "browser"],
    platform: "neutral",
    mainFields: ["browser", "module", "main"],
    minify: true,
    keepNames: false,
    external: ["cloudflare:*", "node:*"],
    jsx: "automatic",
    jsxImportSource: "hono/jsx",
    logLevel: "silent",
    plugins: [plugin(stubs, edits)],
    metafile: true,
  });
  const byOrigin: Record<string, number> = {};
  for (const o of Object.values(out.metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(o.inputs)) {
      const g = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? /^src\/[^/]+(\/[^/.]+)?/.exec(file)?.[0] ??
        file;
      byOrigin[g] = (byOrigin[g] ?? 0) + bytesInOutput;
    }
  }
  const bytes = out.outputFiles[0]!.contents;
  const top = Object.entries(byOrigin).sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { raw: bytes.byteLength, gzip: gzipSync(bytes).byteLength, top };
}

const wrangler = wranglerBuild("split", `${root}/wrangler.toml`).gzip_bytes;
console.log(`wrangler's build (npm run check:size): ${wrangler} B gzip; 64 KiB = 65536 B`);
for (const p of parts) {
  const s = await size(p.stubs, p.edits);
  console.log(
    `${p.name.padEnd(16)} ${String(s.gzip).padStart(7)} B gzip ${String(s.raw).padStart(8)} B raw  ${
      s.gzip <= 65536 ? "under" : "OVER"
    } 64 KiB; largest (raw): ${s.top.map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
}
