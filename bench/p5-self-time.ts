/**
 * Where one P5 path's CPU goes: `P5_PROFILE_DIR=dir npx tsx bench/run.ts --only=p5` keeps each round's
 * V8 profile, its timing windows and the bundle's source map; this adds up the busy samples inside
 * the path's windows by source file (self and inclusive) and by source line (self).
 *
 *   npx tsx bench/p5-self-time.ts bench/out/p5-prof alert_matched
 *
 * Shares, not milliseconds: the sampler's period is calibrated by bench/p5-cpu.ts, not here.
 *
 * `--worker` leaves out the samples with a Durable Object class's method on the stack (the DO share,
 * which bench/p5-cpu.ts reports apart from the path).
 *
 * Round 0 is left out, as the P5 figures leave it out (bench/p5-cpu.ts: the warm-up, not counted):
 * its windows pay the isolate's first-time work, such as the first `console.log`'s set-up of
 * workerd's log formatter, which once put a fifth of `alert_matched`'s samples on the
 * `containment.early_deleted` log line (`--with-warmup` counts it too).
 */
import { existsSync, readFileSync } from "node:fs";
import { durableObjectRanges, type ProfileNode, samplesOf, SourceMap } from "./lib/cpu-profile.ts";

interface Window {
  path: string;
  t0: number;
  t1: number;
}

const args = process.argv.slice(2);
const withWarmup = args.includes("--with-warmup");
const workerOnly = args.includes("--worker");
const [dir = "bench/out/p5-prof", path = "alert_matched"] = args.filter((a) => !a.startsWith("--"));
const map = new SourceMap(`${dir}/index.js.map`);

const origin = (n: ProfileNode) => {
  const f = n.callFrame;
  return f.url.endsWith("index.js") ? map.lookup(f.lineNumber, f.columnNumber) : null;
};
const doRanges = durableObjectRanges(map);
const inDurableObject = (stack: ProfileNode[]) =>
  stack.some((n) => {
    if (n.callFrame.url.includes("__mf_do_wrapper")) return true;
    const o = origin(n);
    return !!o && doRanges.some((r) => o.source === r.source && o.line >= r.from && o.line <= r.to);
  });
const shortSource = (s: string) => s.replace(/.*node_modules\//, "npm:").replace(/.*\/src\//, "src/");
const fileOf = (n: ProfileNode) => {
  const o = origin(n);
  if (!o) return `(${n.callFrame.functionName || "native"})`;
  return shortSource(o.source).replace(/^(npm:(@[^/]+\/)?[^/]+).*/, "$1");
};
const lineOf = (n: ProfileNode) => {
  const o = origin(n);
  return o ? `${shortSource(o.source)}:${o.line} ${o.text.slice(0, 60)}` : `(${n.callFrame.functionName || "native"})`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const selfLine = new Map<string, number>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
let busy = 0;
let windows = 0;
for (let round = withWarmup ? 0 : 1; existsSync(`${dir}/round-${round}.cpuprofile`); round++) {
  const profile = JSON.parse(readFileSync(`${dir}/round-${round}.cpuprofile`, "utf8"));
  const ws = (JSON.parse(readFileSync(`${dir}/round-${round}.windows.json`, "utf8")) as Window[])
    .filter((w) => w.path === path);
  windows += ws.length;
  for (const s of samplesOf(profile)) {
    if (s.idle || !ws.some((w) => s.t >= w.t0 && s.t <= w.t1)) continue;
    if (workerOnly && inDurableObject(s.stack)) continue;
    busy++;
    add(self, fileOf(s.stack[0]!));
    add(selfLine, lineOf(s.stack[0]!));
    for (const f of new Set(s.stack.map(fileOf))) add(inclusive, f);
  }
}
const top = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`).join("\n");
console.log(`${path}: ${windows} windows, ${busy} busy samples`);
console.log(`--- self, by file\n${top(self, 20)}`);
console.log(`--- inclusive, by file\n${top(inclusive, 25)}`);
console.log(`--- self, by line\n${top(selfLine, 20)}`);
