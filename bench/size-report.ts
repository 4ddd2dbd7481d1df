/**
 * `npm run size:report`: what the deployable Worker bundle is made of, so each size win can be
 * measured (issue 20, P3). Builds the Worker exactly as `npm run check:size` does
 * (`wrangler deploy --dry-run --outdir`, ./p3-bundle-size.ts) and attributes every byte of the
 * minified output to the source it came from, using the source map wrangler writes beside it
 * (esbuild's metafile only gives raw bytes per input). Per package and per src/ folder it prints:
 *
 * - raw: minified bytes in the output;
 * - gzip alone: that group's output bytes, concatenated in output order, gzipped on their own;
 * - gzip share: "gzip alone" scaled so the groups add up to the bundle's real gzip size (gzip
 *   alone over-counts small groups, which cannot borrow back-references from the rest of the
 *   bundle); this is the column to compare wins against.
 *
 * `--depth=N` groups src/ by N path segments below src/ (default 2: src/core/alerts);
 * `--config=path` measures another wrangler config (a scratch worktree's, for instance).
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "./p3-bundle-size.ts";
import { outDir, root } from "./lib/wrangler-dev.ts";

const depth = Number(/^--depth=(\d+)$/.exec(process.argv.find((a) => a.startsWith("--depth=")) ?? "")?.[1] ?? 2);
const config = process.argv.find((a) => a.startsWith("--config="))?.slice("--config=".length) ??
  `${root}/wrangler.toml`;

// columnToByte's cache (one line at a time, columns ascending).
let cacheLine = -1;
let cacheCol = 0;
let cacheByte = 0;

const size = build("report", config);
const dir = `${outDir}/p3-report`;
const js = size.files.filter((f) => f.endsWith(".js"));
if (js.length !== 1) throw new Error(`expected one JavaScript module, got ${size.files.join(", ")}`);
const code = readFileSync(`${dir}/${js[0]}`);
const map = JSON.parse(readFileSync(`${dir}/${js[0]}.map`, "utf8")) as { sources: string[]; mappings: string };

/** The group a source path belongs to: an npm package, or src/ cut at `depth` segments. */
function group(source: string): string {
  const path = source.replace(/^(\.\.\/)+/, "");
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg) return `npm:${pkg}`;
  const parts = path.split("/");
  if (parts[0] !== "src") return parts.slice(0, 2).join("/");
  // A file directly in a folder counts as that folder's; a top-level src/ file as itself.
  return parts.slice(0, Math.min(depth + 1, parts.length)).join("/").replace(/\.tsx?$/, "");
}

// Every output byte belongs to the source of the mapping segment it falls in; bytes before a
// line's first segment (or between modules) are esbuild's own glue.
const owner = new Int32Array(code.byteLength).fill(-1);
{
  const text = code.toString("latin1"); // byte offsets: minified output is ASCII except in strings
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  let source = 0;
  const lines = map.mappings.split(";");
  for (let line = 0; line < lines.length && line < lineStarts.length; line++) {
    const start = lineStarts[line]!;
    const end = line + 1 < lineStarts.length ? lineStarts[line + 1]! : text.length;
    let column = 0;
    let prev: { at: number; source: number } | undefined;
    for (const seg of lines[line]!.split(",")) {
      if (!seg) continue;
      const fields = vlq(seg);
      column += fields[0]!;
      if (fields.length >= 4) source += fields[1]!;
      const at = start + columnToByte(text, start, column);
      if (prev) owner.fill(prev.source, prev.at, at);
      prev = fields.length >= 4 ? { at, source } : undefined;
    }
    if (prev) owner.fill(prev.source, prev.at, end);
  }
}

const chunks = new Map<string, number[]>();
for (let i = 0; i < owner.length;) {
  let j = i;
  while (j < owner.length && owner[j] === owner[i]) j++;
  const g = owner[i] === -1 ? "(esbuild glue)" : group(map.sources[owner[i]!]!);
  const list = chunks.get(g) ?? [];
  list.push(i, j);
  chunks.set(g, list);
  i = j;
}

const rows = [...chunks].map(([name, ranges]) => {
  const parts: Buffer[] = [];
  for (let k = 0; k < ranges.length; k += 2) parts.push(code.subarray(ranges[k], ranges[k + 1]));
  const bytes = Buffer.concat(parts);
  return { name, raw: bytes.byteLength, gzipAlone: gzipSync(bytes).byteLength };
});
const aloneTotal = rows.reduce((s, r) => s + r.gzipAlone, 0);
const scaled = rows.map((r) => ({ ...r, share: Math.round((r.gzipAlone * size.gzip_bytes) / aloneTotal) }))
  .sort((a, b) => b.share - a.share);

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`Worker bundle: ${size.gzip_bytes} B gzip, ${size.raw_bytes} B raw (${size.files.join(", ")})`);
console.log(`${"group".padEnd(34)}${pad("raw", 9)}${pad("gzip alone", 12)}${pad("gzip share", 12)}${pad("%", 6)}`);
for (const r of scaled) {
  console.log(
    `${r.name.padEnd(34)}${pad(r.raw, 9)}${pad(r.gzipAlone, 12)}${pad(r.share, 12)}${
      pad(((100 * r.share) / size.gzip_bytes).toFixed(1), 6)
    }`,
  );
}
const byTop = new Map<string, number>();
for (const r of scaled) {
  const top = r.name.startsWith("npm:") ? "npm (all packages)" : r.name.startsWith("src") ? "src (all)" : r.name;
  byTop.set(top, (byTop.get(top) ?? 0) + r.share);
}
console.log(`totals (gzip share): ${[...byTop].map(([k, v]) => `${k} ${v}`).join(", ")}`);

/** Decodes one source-map segment (base64 VLQ). */
function vlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const digit = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/**
 * Source-map columns count UTF-16 code units; this file indexes bytes. Cached per line so the
 * conversion walks each line once.
 */
function columnToByte(text: string, lineStart: number, column: number): number {
  if (cacheLine !== lineStart || column < cacheCol) {
    cacheLine = lineStart;
    cacheCol = 0;
    cacheByte = 0;
  }
  // text is latin1-decoded bytes; re-encode runs of non-ASCII as UTF-8 to count code units.
  while (cacheCol < column) {
    const b = text.charCodeAt(lineStart + cacheByte);
    if (b < 0x80) {
      cacheByte += 1;
      cacheCol += 1;
    } else if (b >= 0xf0) {
      cacheByte += 4;
      cacheCol += 2; // astral: a surrogate pair
    } else if (b >= 0xe0) {
      cacheByte += 3;
      cacheCol += 1;
    } else {
      cacheByte += 2;
      cacheCol += 1;
    }
  }
  return cacheByte;
}
