/// <reference types="vite/client" />
/**
 * The core stays runtime-neutral: outside the entry points (src/worker*, src/deno*) and
 * src/adapters/, nothing imports `cloudflare:*` or touches the `Deno` global. Checked on the source
 * text (bundled into the test by Vite's glob import, since tests run inside workerd).
 */
import { describe, expect, it } from "vitest";

const sources = import.meta.glob("../../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

describe("runtime boundary", () => {
  it("keeps cloudflare:* and Deno out of the core", () => {
    const files = Object.keys(sources).map((p) => p.replace("../../", ""));
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((f) => {
      if (/^src\/(worker|deno)[^/]*\.ts$/.test(f) || f.startsWith("src/adapters/")) return false;
      const text = sources[`../../${f}`]!;
      return /from\s+["']cloudflare:/.test(text) || /\bDeno\./.test(text);
    });
    expect(offenders).toEqual([]);
  });

  it("would catch an offender", () => {
    expect(/from\s+["']cloudflare:/.test('import { env } from "cloudflare:workers";')).toBe(true);
    expect(/\bDeno\./.test("const kv = await Deno.openKv();")).toBe(true);
  });
});
