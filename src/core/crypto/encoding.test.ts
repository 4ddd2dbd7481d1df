import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, decodeBase64Url, decodeHex, encodeBase64, encodeBase64Url, encodeHex } from "./encoding.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const unwrap = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!r.ok) throw new Error("expected ok");
  return r.value;
};

// RFC 4648 §10 test vectors.
const RFC4648: [string, string][] = [
  ["", ""],
  ["f", "Zg=="],
  ["fo", "Zm8="],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg=="],
  ["fooba", "Zm9vYmE="],
  ["foobar", "Zm9vYmFy"],
];

describe("base64", () => {
  it("encodes and decodes the RFC 4648 vectors", () => {
    for (const [plain, b64] of RFC4648) {
      expect(encodeBase64(utf8(plain))).toBe(b64);
      expect(unwrap(decodeBase64(b64))).toEqual(utf8(plain));
      expect(unwrap(decodeBase64(b64.replace(/=+$/, "")))).toEqual(utf8(plain));
    }
  });

  it("agrees with btoa and round-trips any bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const b64 = encodeBase64(bytes);
      expect(b64).toBe(btoa(String.fromCharCode(...bytes)));
      expect(unwrap(decodeBase64(b64))).toEqual(bytes);
    }));
  });

  it.each([
    ["Zg=", "invalid_length"],
    ["Zg===", "invalid_length"],
    ["Z", "invalid_length"],
    ["Zm9vY", "invalid_length"],
    ["Zm9\n", "invalid_character"],
    ["Zm 9", "invalid_character"],
    ["Zm-_", "invalid_character"],
    ["Z=g=", "invalid_character"],
    ["====", "invalid_character"],
    ["Zh==", "non_canonical"],
    ["Zm9=", "non_canonical"],
    ["Zm9é", "invalid_character"],
  ])("rejects %j as %s", (input, reason) => {
    const r = decodeBase64(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(reason);
      expect(r.error.message).not.toContain(input);
    }
  });

  it("gives every byte string exactly one encoding (no two inputs decode alike)", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.nat(63), (bytes, at, ch) => {
      const b64 = encodeBase64(bytes).replace(/=+$/, "");
      const i = at % b64.length;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const changed = b64.slice(0, i) + alphabet[ch] + b64.slice(i + 1);
      fc.pre(changed !== b64);
      const r = decodeBase64(changed);
      if (r.ok) expect(r.value).not.toEqual(bytes);
    }));
  });
});

describe("base64url", () => {
  it("uses the URL-safe alphabet without padding", () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xfe]);
    expect(encodeBase64Url(bytes)).toBe("-__-");
    expect(encodeBase64Url(utf8("f"))).toBe("Zg");
    expect(unwrap(decodeBase64Url("-__-"))).toEqual(bytes);
    expect(unwrap(decodeBase64Url("Zg=="))).toEqual(utf8("f"));
  });

  it("rejects the standard alphabet and malformed input", () => {
    for (const bad of ["+//+", "Zg=", "Z", "Zh"]) expect(decodeBase64Url(bad).ok).toBe(false);
  });

  it("round-trips any bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      expect(unwrap(decodeBase64Url(encodeBase64Url(bytes)))).toEqual(bytes);
    }));
  });
});

describe("hex", () => {
  it("encodes lowercase and decodes either case", () => {
    expect(encodeHex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe("0001abff");
    expect(unwrap(decodeHex("0001ABff"))).toEqual(new Uint8Array([0, 1, 0xab, 0xff]));
    expect(unwrap(decodeHex(""))).toEqual(new Uint8Array());
  });

  it.each([
    ["abc", "invalid_length"],
    ["0g", "invalid_character"],
    ["g0", "invalid_character"],
    ["0x00", "invalid_character"],
    [" 0", "invalid_character"],
    ["٠٠", "invalid_character"],
  ])("rejects %j as %s", (input, reason) => {
    const r = decodeHex(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(reason);
  });

  it("round-trips any bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      expect(unwrap(decodeHex(encodeHex(bytes)))).toEqual(bytes);
    }));
  });
});

describe("encoders against independent references (empty, 1-2 byte tails, views, large inputs)", () => {
  const latin1 = (bytes: Uint8Array) => {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return s;
  };
  const viaBtoa = (bytes: Uint8Array) => btoa(latin1(bytes));
  const viaBtoaUrl = (bytes: Uint8Array) => viaBtoa(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const viaToString = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  // A view into a larger buffer, at an offset: encoders must read the view, not its buffer.
  const view = fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat(5), fc.nat(5)).map(([bytes, before, after]) => {
    const buffer = new Uint8Array(before + bytes.length + after).fill(0xee);
    buffer.set(bytes, before);
    return buffer.subarray(before, before + bytes.length);
  });

  it("encodes the empty input as the empty string", () => {
    expect(encodeBase64(new Uint8Array())).toBe("");
    expect(encodeBase64Url(new Uint8Array())).toBe("");
    expect(encodeHex(new Uint8Array())).toBe("");
  });

  it.each([1, 2, 3, 4, 5])("encodes a %i-byte input of every byte value in each position", (n) => {
    for (let b = 0; b < 256; b++) {
      for (let at = 0; at < n; at++) {
        const bytes = new Uint8Array(n).fill(0x5a);
        bytes[at] = b;
        expect(encodeBase64(bytes)).toBe(viaBtoa(bytes));
        expect(encodeBase64Url(bytes)).toBe(viaBtoaUrl(bytes));
        expect(encodeHex(bytes)).toBe(viaToString(bytes));
      }
    }
  });

  it("agrees with the references on any bytes and on views into a larger buffer", () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), view), (bytes) => {
      expect(encodeBase64(bytes)).toBe(viaBtoa(bytes));
      expect(encodeBase64Url(bytes)).toBe(viaBtoaUrl(bytes));
      expect(encodeHex(bytes)).toBe(viaToString(bytes));
    }));
  });

  it.each([65_536, 65_537, 200_002])("agrees with the references on %i bytes", (n) => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
    expect(encodeBase64(bytes)).toBe(viaBtoa(bytes));
    expect(encodeBase64Url(bytes)).toBe(viaBtoaUrl(bytes));
    expect(encodeHex(bytes)).toBe(viaToString(bytes));
    expect(unwrap(decodeBase64(encodeBase64(bytes)))).toEqual(bytes);
    expect(unwrap(decodeHex(encodeHex(bytes)))).toEqual(bytes);
  });
});
