import { describe, expect, it } from "vitest";
import { decodeBase64Url } from "./encoding.ts";
import { isRandomId, randomId, randomSecretValue } from "./random.ts";

describe("randomId", () => {
  it("makes prefixed 26-character lowercase Crockford ids", () => {
    const id = randomId("cred");
    expect(id).toMatch(/^cred_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isRandomId(id, "cred")).toBe(true);
    expect(isRandomId(id, "rot")).toBe(false);
  });

  it("encodes the time first, as ULIDs do", () => {
    // ULID spec example time 1469918176385 encodes as 01ARYZ6S41.
    expect(randomId("x", 1469918176385).slice(2, 12)).toBe("01aryz6s41");
    expect(randomId("x", 0).slice(2, 12)).toBe("0000000000");
    expect(randomId("x", 2 ** 48 - 1).slice(2, 12)).toBe("7zzzzzzzzz");
  });

  it("sorts chronologically across milliseconds", () => {
    const times = [1, 31, 32, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 47];
    const ids = times.map((t) => randomId("evt", t));
    expect([...ids].sort()).toEqual(ids);
  });

  it("does not repeat", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId("cred", 1)));
    expect(ids.size).toBe(1000);
  });

  it("rejects bad prefixes and times", () => {
    for (const p of ["", "Cred", "cred_", "1cred", "cr-ed", "a".repeat(21)]) {
      expect(() => randomId(p)).toThrow(TypeError);
    }
    for (const t of [-1, 1.5, 2 ** 48, Number.NaN]) expect(() => randomId("cred", t)).toThrow(RangeError);
  });

  it("recognises only well-formed ids", () => {
    const id = randomId("cred");
    const tail = id.slice(5);
    expect(isRandomId(`cred_${tail.toUpperCase()}`, "cred")).toBe(false);
    expect(isRandomId(`cred_8${tail.slice(1)}`, "cred")).toBe(false);
    expect(isRandomId(`cred_${tail.slice(0, 25)}i`, "cred")).toBe(false);
    expect(isRandomId(`${id}0`, "cred")).toBe(false);
    expect(isRandomId(`credx${tail}`, "cred")).toBe(false);
    expect(isRandomId("cred_../../../admin00000000000", "cred")).toBe(false);
  });
});

describe("randomSecretValue", () => {
  it("returns unpadded base64url of the requested size", () => {
    const v = randomSecretValue();
    expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const decoded = decodeBase64Url(v);
    expect(decoded.ok && decoded.value.length).toBe(32);
    expect(randomSecretValue(48)).toHaveLength(64);
    expect(randomSecretValue()).not.toBe(v);
  });

  it("refuses weak or absurd sizes", () => {
    for (const n of [0, 15, 1.5, 1025]) expect(() => randomSecretValue(n)).toThrow(RangeError);
  });
});
