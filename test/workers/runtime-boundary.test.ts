/// <reference types="vite/client" />
/**
 * The core stays runtime-neutral, and each runtime's code stays in its own files: `cloudflare:*`
 * only in src/worker.ts and the Workers adapters, the `Deno` global only in src/deno.ts and
 * src/adapters/deno-*.ts (which must not import `cloudflare:*` either, or Deno could not load
 * them). Checked on the source text (bundled into the test by Vite's glob import, since tests run
 * inside workerd). And src/ uses zod's mini build only (the Worker's size).
 */
import { describe, expect, it } from "vitest";

const CLOUDFLARE_IMPORT = /from\s+["']cloudflare:/;
const DENO_GLOBAL = /\bDeno\./;
const CLASSIC_ZOD = /from\s+["']zod(?:\/v4|\/v4\/classic|\/classic)?["']/;
const isDenoFile = (f: string) => f === "src/deno.ts" || /^src\/adapters\/deno-[^/]*\.ts$/.test(f);
const isWorkersFile = (f: string) =>
  /^src\/worker[^/]*\.ts$/.test(f) || (f.startsWith("src/adapters/") && !isDenoFile(f));

const sources = import.meta.glob("../../src/**/*.{ts,tsx}", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

describe("runtime boundary", () => {
  it("keeps cloudflare:* and Deno out of the core, and each out of the other's adapters", () => {
    const files = Object.keys(sources).map((p) => p.replace("../../", ""));
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("src/deno.ts");
    expect(files.filter(isDenoFile).length).toBeGreaterThan(3);
    const offenders = files.flatMap((f) => {
      const text = sources[`../../${f}`]!;
      const found: string[] = [];
      if (CLOUDFLARE_IMPORT.test(text) && !isWorkersFile(f)) found.push(`${f}: cloudflare:*`);
      if (DENO_GLOBAL.test(text) && !isDenoFile(f)) found.push(`${f}: Deno`);
      return found;
    });
    expect(offenders).toEqual([]);
  });

  it("imports zod only as zod/mini", () => {
    // One import of classic zod bundles its whole API again (17 KB gzip of the Worker, BENCHMARKS.md
    // P3): its schemas carry methods such as .toJSONSchema() that tree-shaking cannot drop.
    const classic = Object.keys(sources).filter((p) => CLASSIC_ZOD.test(sources[p]!)).map((p) =>
      p.replace("../../", "")
    );
    expect(classic).toEqual([]);
    expect(CLASSIC_ZOD.test('import * as z from "zod";')).toBe(true);
    expect(CLASSIC_ZOD.test('import type { ZodType } from "zod/v4";')).toBe(true);
    expect(CLASSIC_ZOD.test('import * as z from "zod/mini";')).toBe(false);
  });

  it("would catch an offender", () => {
    expect(CLOUDFLARE_IMPORT.test('import { env } from "cloudflare:workers";')).toBe(true);
    expect(DENO_GLOBAL.test("const kv = await Deno.openKv();")).toBe(true);
    expect(isDenoFile("src/adapters/deno-kv-store.ts") && !isWorkersFile("src/adapters/deno-kv-store.ts")).toBe(true);
    expect(isWorkersFile("src/adapters/workers-store.ts") && !isDenoFile("src/adapters/workers-store.ts")).toBe(true);
    expect(isDenoFile("src/core/deno-helper.ts") || isWorkersFile("src/core/worker-helper.ts")).toBe(false);
  });
});
