import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { timingSafeEqual, timingSafeEqualDigest } from "./timing-safe-equal.ts";

type Subtle = { timingSafeEqual?: unknown };

/** Runs `fn` as Deno and Node would: with no `crypto.subtle.timingSafeEqual`. */
function withoutNative(fn: () => void) {
  // Shadow the prototype method on the instance, then remove the shadow.
  Object.defineProperty(crypto.subtle, "timingSafeEqual", { value: undefined, configurable: true });
  try {
    expect((crypto.subtle as Subtle).timingSafeEqual).toBeUndefined();
    fn();
  } finally {
    delete (crypto.subtle as Subtle).timingSafeEqual;
  }
}

const naive = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

function checks() {
  expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
  expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
  expect(timingSafeEqual(new Uint8Array([9, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(false);
  expect(timingSafeEqual(new Uint8Array(), new Uint8Array())).toBe(true);
  // The native function throws on unequal lengths; ours must return false in every runtime.
  expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
    expect(timingSafeEqual(a, b)).toBe(naive(a, b));
    expect(timingSafeEqual(a, a.slice())).toBe(true);
  }));
}

describe("timingSafeEqual", () => {
  const inWorkerd =
    (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";
  it.runIf(inWorkerd)("finds workerd's native function", () => {
    expect(typeof (crypto.subtle as Subtle).timingSafeEqual).toBe("function");
  });
  it("compares correctly with the native function", () => checks());
  it("compares correctly with the portable loop", () => withoutNative(checks));
});

describe("timingSafeEqualDigest", () => {
  it("compares strings and bytes of any length", async () => {
    expect(await timingSafeEqualDigest("s3cret-token", "s3cret-token")).toBe(true);
    expect(await timingSafeEqualDigest("s3cret-token", "s3cret-tokem")).toBe(false);
    expect(await timingSafeEqualDigest("s3cret-token", "s3cret")).toBe(false);
    expect(await timingSafeEqualDigest("", "")).toBe(true);
    expect(await timingSafeEqualDigest(new TextEncoder().encode("abc"), "abc")).toBe(true);
  });
});
