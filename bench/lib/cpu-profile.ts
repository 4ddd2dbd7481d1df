/**
 * Reading V8 CPU profiles (`Profiler.stop` of the Chrome DevTools Protocol) of a bundled Worker:
 * sample timestamps, each sample's stack, and where a frame was in the source (the bundle's
 * source map, which wrangler writes next to the bundle it serves).
 *
 * Why samples are counted rather than their time deltas summed: V8's sampler records a tick only
 * while the thread holds the isolate's lock (`CpuSampler::SampleStack` in V8's
 * src/profiler/cpu-profiler.cc drops it otherwise), so the delta before a sample spans every wait
 * on I/O since the previous one. The number of samples that are not `(idle)`, times the sampler's
 * real period (bench/p5-cpu.ts calibrates it), is the isolate's CPU time.
 */
import { readFileSync } from "node:fs";

export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Samples with their times (µs, CLOCK_MONOTONIC as V8's TimeTicks) and their stacks, leaf first. */
export interface Sample {
  t: number;
  stack: ProfileNode[];
  idle: boolean;
}

export function samplesOf(profile: CpuProfile): Sample[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<number, ProfileNode[]>();
  const stackOf = (id: number) => {
    let s = stacks.get(id);
    if (!s) {
      s = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) s.push(byId.get(at)!);
      stacks.set(id, s);
    }
    return s;
  };
  const out: Sample[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const stack = stackOf(profile.samples[i]!);
    out.push({ t, stack, idle: stack[0]!.callFrame.functionName === "(idle)" });
  }
  return out;
}

export interface Origin {
  source: string;
  line: number;
  /** The original source line, trimmed: a readable name for a frame of a minified bundle. */
  text: string;
}

/** Source map v3 lookups (generated line and column, 0-based, to the original position). */
export class SourceMap {
  readonly sources: string[];
  readonly content: string[][];
  #lines: Array<Array<[col: number, src: number, line: number]>> = [];

  constructor(path: string) {
    const map = JSON.parse(readFileSync(path, "utf8")) as {
      sources: string[];
      sourcesContent?: (string | null)[];
      mappings: string;
    };
    this.sources = map.sources;
    this.content = (map.sourcesContent ?? []).map((s) => (s ?? "").split("\n"));
    let src = 0;
    let line = 0;
    let col = 0;
    for (const genLine of map.mappings.split(";")) {
      let genCol = 0;
      const segs: Array<[number, number, number]> = [];
      for (const seg of genLine.split(",")) {
        if (!seg) continue;
        const v = decodeVlq(seg);
        genCol += v[0]!;
        if (v.length >= 4) {
          src += v[1]!;
          line += v[2]!;
          col += v[3]!;
          segs.push([genCol, src, line]);
        }
      }
      this.#lines.push(segs);
    }
  }

  lookup(line: number, column: number): Origin | null {
    const segs = this.#lines[line];
    if (!segs?.length) return null;
    let lo = 0;
    let hi = segs.length - 1;
    if (segs[0]![0] > column) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]![0] <= column) lo = mid;
      else hi = mid - 1;
    }
    const [, src, srcLine] = segs[lo]!;
    return {
      source: this.sources[src] ?? "?",
      line: srcLine + 1,
      text: (this.content[src]?.[srcLine] ?? "").trim().slice(0, 90),
    };
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function decodeVlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const digit = B64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** Source lines of the Durable Object classes (their own invocations; in production each is billed apart). */
export interface SourceRange {
  source: string;
  from: number;
  to: number;
}

export function durableObjectRanges(map: SourceMap, names = ["CredentialCell", "EventLedger", "Stats"]): SourceRange[] {
  const ranges: SourceRange[] = [];
  for (const [i, source] of map.sources.entries()) {
    const lines = map.content[i] ?? [];
    for (const name of names) {
      const from = lines.findIndex((l) => l.startsWith(`export class ${name} extends DurableObject`));
      if (from < 0) continue;
      const to = lines.findIndex((l, j) => j > from && l === "}");
      ranges.push({ source, from: from + 1, to: (to < 0 ? lines.length : to) + 1 });
    }
  }
  if (ranges.length !== names.length) {
    throw new Error(`P5: found ${ranges.length} of the ${names.length} Durable Object classes in the source map`);
  }
  return ranges;
}
