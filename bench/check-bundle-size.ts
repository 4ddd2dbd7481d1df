/**
 * `npm run check:size` (part of `npm test`): the size ratchet. Builds the Worker exactly as P3
 * measures it (`wrangler deploy --dry-run --outdir`, gzip of the JavaScript modules, see
 * ./p3-bundle-size.ts) and fails when its gzip size is over the committed ceiling
 * (./bundle-ceiling.json). The ceiling only goes down: once the bundle is more than SLACK_BYTES
 * under it, this fails too until the ceiling is lowered (`npm run check:size -- --update` writes
 * the measured size), so a saving is kept instead of being spent again unnoticed.
 *
 * Why a ceiling at all: the whole script is loaded and parsed at each cold start, and Workers
 * limit its compressed size (3 MB on the free plan: https://developers.cloudflare.com/workers/platform/limits/#worker-size).
 * BENCHMARKS.md (P3) keeps the figures and the target.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "./p3-bundle-size.ts";
import { root } from "./lib/wrangler-dev.ts";

/** Shrinking by less than this is noise (a renamed identifier, zlib's choices); more is a saving to keep. */
const SLACK_BYTES = 512;
const ceilingFile = `${root}/bench/bundle-ceiling.json`;

const ceiling = (JSON.parse(readFileSync(ceilingFile, "utf8")) as { gzip_bytes: number }).gzip_bytes;
const size = build("ratchet", `${root}/wrangler.toml`);
const gzip = size.gzip_bytes;

if (process.argv.includes("--update")) {
  if (gzip > ceiling) {
    console.error(
      `Worker bundle: ${gzip} bytes gzip, over the ceiling of ${ceiling}: the ceiling is not raised by --update (make the bundle smaller, or raise it by hand in bench/bundle-ceiling.json and say why in the commit)`,
    );
    process.exit(1);
  }
  writeFileSync(ceilingFile, `${JSON.stringify({ gzip_bytes: gzip }, null, 2)}\n`);
  console.log(`Worker bundle: ceiling lowered from ${ceiling} to ${gzip} bytes gzip`);
} else if (gzip > ceiling) {
  console.error(
    `Worker bundle: ${gzip} bytes gzip, ${
      gzip - ceiling
    } over the ceiling of ${ceiling} (bench/bundle-ceiling.json). Largest origins (minified bytes): ${
      top(size.raw_by_origin)
    }`,
  );
  process.exit(1);
} else if (gzip < ceiling - SLACK_BYTES) {
  console.error(
    `Worker bundle: ${gzip} bytes gzip, ${
      ceiling - gzip
    } under the ceiling of ${ceiling}: lower it with \`npm run check:size -- --update\` and commit bench/bundle-ceiling.json`,
  );
  process.exit(1);
} else {
  console.log(`Worker bundle: ${gzip} bytes gzip (${size.raw_bytes} raw), ceiling ${ceiling}`);
}

function top(byOrigin: Record<string, number>): string {
  return Object.entries(byOrigin).slice(0, 5).map(([origin, bytes]) => `${origin} ${bytes}`).join(", ");
}
