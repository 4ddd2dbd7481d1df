/**
 * P3: the deployable bundle as `wrangler deploy --dry-run --outdir` writes it, beside a bare Hono
 * worker built with the same settings (bench/fixtures/bare-hono). Sizes are computed the way
 * wrangler's own "Total Upload … / gzip: …" line does (zlib default level over the concatenated
 * modules); source maps are uploaded but do not count toward the script size limit, so only the
 * JavaScript modules count. wrangler's printed line is kept as a cross-check.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { outDir, root } from "./lib/wrangler-dev.ts";

export interface BundleSize {
  raw_bytes: number;
  gzip_bytes: number;
  files: string[];
  wrangler_report: string;
  /** Minified bytes by origin (esbuild metafile): where the size comes from. */
  raw_by_origin: Record<string, number>;
}

export interface P3Result {
  rekey: BundleSize;
  baseline: BundleSize;
}

/** Builds `config` as `wrangler deploy --dry-run` would deploy it, into bench/out/p3-<name>. */
export function build(name: string, config: string): BundleSize {
  const dir = `${outDir}/p3-${name}`;
  rmSync(dir, { recursive: true, force: true });
  const out = execFileSync(`${root}/node_modules/.bin/wrangler`, [
    "deploy",
    "--dry-run",
    "--config",
    config,
    "--outdir",
    dir,
    "--metafile",
    `${dir}/meta.json`,
  ], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const files = readdirSync(dir).filter((f) => /\.(m?js|wasm)$/.test(f)).sort();
  const bytes = Buffer.concat(files.map((f) => readFileSync(`${dir}/${f}`)));
  return {
    raw_bytes: bytes.byteLength,
    gzip_bytes: gzipSync(bytes).byteLength,
    files,
    wrangler_report: /Total Upload:\s*(.+)/.exec(out)?.[1]?.trim() ?? "",
    raw_by_origin: byOrigin(`${dir}/meta.json`),
  };
}

function byOrigin(metafile: string): Record<string, number> {
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as {
    outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const out: Record<string, number> = {};
  for (const output of Object.values(meta.outputs)) {
    if (!output.entryPoint) continue;
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
      const origin = pkg ?? (/^(src\/[^/]+|bench\/fixtures\/[^/]+)/.exec(file)?.[1] ?? "other").replace(/\.tsx?$/, "");
      out[origin] = (out[origin] ?? 0) + bytesInOutput;
    }
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

export function runP3(log: (s: string) => void): P3Result {
  log("P3: wrangler deploy --dry-run for rekey and the bare Hono worker...");
  return {
    rekey: build("rekey", `${root}/wrangler.toml`),
    baseline: build("bare-hono", `${root}/bench/fixtures/bare-hono/wrangler.toml`),
  };
}
