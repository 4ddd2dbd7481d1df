import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64 } from "./encoding.ts";
import { decrypt, encrypt, needsReencrypt, reencrypt, type Sealed, sealedSchema } from "./envelope.ts";
import { type Keyring, parseKeyring } from "./keyring.ts";
import { sealLegacy } from "../../../test/support/legacy-seal.ts";

const randomKey = () => encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
const keysJson = (versions: number[]) => Object.fromEntries(versions.map((v) => [String(v), randomKey()]));
function keyring(keys: Record<string, string>): Keyring {
  const r = parseKeyring(JSON.stringify(keys));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
const bytes = (b64: string) => {
  const r = decodeBase64(b64);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

const aad = { id: "cred_01", kind: "pat", field: ["value"] };
const KEYS = keysJson([1, 2, 3]);
const KEYS_JSON = JSON.stringify(KEYS);
const FULL = keyring(KEYS);
// Keyrings as they were when version 1, then 2, then 3 was the newest.
const HISTORY = [1, 2, 3].map((v) => keyring(Object.fromEntries(Object.entries(KEYS).filter(([k]) => Number(k) <= v))));

async function reason(k: Keyring, sealed: unknown, a = aad) {
  const r = await decrypt(k, sealed as Sealed, a);
  return r.ok ? "ok" : r.error.code;
}

describe("encrypt / decrypt", () => {
  it("round-trips under every key version, with the full keyring", async () => {
    for (const [i, k] of HISTORY.entries()) {
      const sealed = await encrypt(k, "s3cret value ✓", aad);
      expect(sealed.v).toBe(i + 1);
      expect(sealedSchema.parse(sealed)).toEqual(sealed);
      expect(bytes(sealed.iv)).toHaveLength(12);
      expect(bytes(sealed.ct)).toHaveLength(new TextEncoder().encode("s3cret value ✓").length + 16);
      expect(await decrypt(FULL, sealed, aad)).toEqual({ ok: true, value: "s3cret value ✓" });
      expect(await decrypt(k, sealed, aad)).toEqual({ ok: true, value: "s3cret value ✓" });
    }
  });

  it("still decrypts old-version ciphertext after a new version is added", async () => {
    const old = await encrypt(HISTORY[0]!, "old", aad);
    const grown = keyring({ ...KEYS, "4": randomKey() });
    expect(grown.currentVersion).toBe(4);
    expect(await decrypt(grown, old, aad)).toEqual({ ok: true, value: "old" });
    expect((await encrypt(grown, "new", aad)).v).toBe(4);
  });

  it("uses a fresh IV per call", async () => {
    const a = await encrypt(FULL, "same", aad);
    const b = await encrypt(FULL, "same", aad);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
  });

  it("round-trips the empty string and long values", async () => {
    for (const value of ["", "\uFEFFstarts with a BOM", "x".repeat(100_000)]) {
      expect(await decrypt(FULL, await encrypt(FULL, value, aad), aad)).toEqual({ ok: true, value });
    }
  });

  it("refuses to encrypt a lone surrogate", async () => {
    await expect(encrypt(FULL, "a\uD800b", aad)).rejects.toThrow(TypeError);
  });
});

describe("the field is bound", () => {
  it("refuses a value moved to another field, or an ambiguous split of the field", async () => {
    const at = (...field: string[]) => ({ id: "cred_01", kind: "pat", field });
    const sealed = await encrypt(FULL, "v", at("previous", "ab"));
    expect(await reason(FULL, sealed, at("previous", "ab"))).toBe("ok");
    for (
      const other of [
        at("value"),
        at("previous", "ac"),
        at("previousab"),
        at("previous", "a", "b"),
        at("previous"),
        at(),
      ]
    ) {
      expect(await reason(FULL, sealed, other)).toBe("tampered");
    }
  });

  it("opens a value sealed before fields were bound, in any field, and re-encryption binds it", async () => {
    const legacy = await sealLegacy(KEYS_JSON, 3, "old format", { id: "cred_01", kind: "pat" });
    expect(legacy).not.toHaveProperty("aad");
    expect(await decrypt(FULL, legacy, aad)).toEqual({ ok: true, value: "old format" });
    expect(await decrypt(FULL, legacy, { ...aad, field: ["previous", "ab"] })).toEqual({
      ok: true,
      value: "old format",
    });
    // Its record id, kind and version are still bound.
    expect(await reason(FULL, legacy, { ...aad, id: "cred_02" })).toBe("tampered");
    expect(await reason(FULL, { ...legacy, v: 2 })).toBe("tampered");
    // Under the current version, and still behind: re-encryption moves it to the bound format.
    expect(needsReencrypt(FULL, legacy)).toBe(true);
    const moved = await reencrypt(FULL, legacy, aad);
    if (!moved.ok) throw new Error("re-encryption failed");
    expect(moved.value.aad).toBe(2);
    expect(needsReencrypt(FULL, moved.value)).toBe(false);
    expect(await reason(FULL, moved.value, { ...aad, field: ["previous", "ab"] })).toBe("tampered");
  });

  it("does not downgrade: a new value without its format marker fails to open", async () => {
    const { aad: _, ...stripped } = await encrypt(FULL, "v", aad);
    expect(await reason(FULL, stripped)).toBe("tampered");
    expect(await reason(FULL, { ...stripped, aad: 3 })).toBe("malformed");
  });

  it("reencrypt with a target field moves the value there", async () => {
    const sealed = await encrypt(FULL, "moving", { ...aad, field: ["rotation.new_value", "rot_1"] });
    const moved = await reencrypt(FULL, sealed, { ...aad, field: ["rotation.new_value", "rot_1"] }, aad);
    if (!moved.ok) throw new Error("move failed");
    expect(await decrypt(FULL, moved.value, aad)).toEqual({ ok: true, value: "moving" });
    expect(await reason(FULL, moved.value, { ...aad, field: ["rotation.new_value", "rot_1"] })).toBe("tampered");
  });
});

describe("decrypt refuses tampering without throwing", () => {
  it("refuses a changed record id, kind, or an ambiguous split of them", async () => {
    const f = ["value"];
    const sealed = await encrypt(FULL, "v", { id: "a", kind: "bc", field: f });
    expect(await reason(FULL, sealed, { id: "a", kind: "bc", field: f })).toBe("ok");
    expect(await reason(FULL, sealed, { id: "ab", kind: "c", field: f })).toBe("tampered");
    expect(await reason(FULL, sealed, { id: "b", kind: "bc", field: f })).toBe("tampered");
    expect(await reason(FULL, sealed, { id: "a", kind: "secret", field: f })).toBe("tampered");
    expect(await reason(FULL, sealed, { id: "a", kind: "bc ", field: f })).toBe("tampered");
  });

  it("refuses a relabelled version: known -> tampered, unknown -> unknown_key_version", async () => {
    const sealed = await encrypt(FULL, "v", aad);
    expect(await reason(FULL, { ...sealed, v: 2 })).toBe("tampered");
    expect(await reason(FULL, { ...sealed, v: 1 })).toBe("tampered");
    const r = await decrypt(FULL, { ...sealed, v: 9 }, aad);
    expect(r).toEqual({
      ok: false,
      error: { code: "unknown_key_version", message: 'Cannot decrypt record "cred_01": unknown key version "9"' },
    });
  });

  it("binds the version into the AAD even when two versions share a key", async () => {
    const same = randomKey();
    const k = keyring({ "1": same, "2": same });
    const sealed = await encrypt(k, "v", aad);
    expect(await reason(k, { ...sealed, v: 1 })).toBe("tampered");
  });

  it("refuses ciphertext sealed under another keyring", async () => {
    const sealed = await encrypt(keyring(keysJson([3])), "v", aad);
    expect(await reason(FULL, sealed)).toBe("tampered");
  });

  it("refuses swapped IV and ciphertext from another seal", async () => {
    const a = await encrypt(FULL, "value-a", aad);
    const b = await encrypt(FULL, "value-b", aad);
    expect(await reason(FULL, { ...a, iv: b.iv })).toBe("tampered");
    expect(await reason(FULL, { ...a, ct: b.ct })).toBe("tampered");
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "sealed"],
    ["missing ct", { v: 3, iv: "AAAAAAAAAAAAAAAA" }],
    ["string version", { v: "3", iv: "AAAAAAAAAAAAAAAA", ct: "A".repeat(24) }],
    ["version 0", { v: 0, iv: "AAAAAAAAAAAAAAAA", ct: "A".repeat(24) }],
    ["fractional version", { v: 1.5, iv: "AAAAAAAAAAAAAAAA", ct: "A".repeat(24) }],
    ["11-byte IV", { v: 3, iv: encodeBase64(new Uint8Array(11)), ct: "A".repeat(24) }],
    ["16-byte IV", { v: 3, iv: encodeBase64(new Uint8Array(16)), ct: "A".repeat(24) }],
    ["non-base64 IV", { v: 3, iv: "AAAAAAAAAAAAAAA!", ct: "A".repeat(24) }],
    ["non-base64 ct", { v: 3, iv: "AAAAAAAAAAAAAAAA", ct: "A".repeat(23) + "*" }],
    ["ct shorter than a tag", { v: 3, iv: "AAAAAAAAAAAAAAAA", ct: encodeBase64(new Uint8Array(15)) }],
  ])("reports %s as malformed", async (_name, sealed) => {
    expect(await reason(FULL, sealed)).toBe("malformed");
  });

  it("rejects any bit flip in ct or iv (property)", async () => {
    const sealed = await encrypt(FULL, "the secret", aad);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("ct" as const, "iv" as const),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (field, at, bit) => {
          const b = bytes(sealed[field]);
          b[at % b.length]! ^= 1 << bit;
          expect(await reason(FULL, { ...sealed, [field]: encodeBase64(b) })).toBe("tampered");
        },
      ),
    );
  });

  it("rejects any edit of the stored strings or fields (property)", async () => {
    const sealed = await encrypt(FULL, "the secret", aad);
    await fc.assert(fc.asyncProperty(
      fc.constantFrom("ct" as const, "iv" as const),
      fc.nat(),
      fc.string({ minLength: 1, maxLength: 2 }),
      async (field, at, replacement) => {
        const s = sealed[field];
        const i = at % s.length;
        const edited = s.slice(0, i) + replacement + s.slice(i + 1);
        fc.pre(edited !== s);
        expect(await reason(FULL, { ...sealed, [field]: edited })).not.toBe("ok");
      },
    ));
  });

  it("never throws on arbitrary input (property)", async () => {
    await fc.assert(fc.asyncProperty(fc.anything(), fc.string(), fc.string(), async (sealed, id, kind) => {
      const r = await decrypt(FULL, sealed as Sealed, { id, kind, field: [kind] });
      expect(r.ok).toBe(false);
    }));
  });
});

// Any Unicode scalar value. (fc.string({ unit: "binary" }) does the same but is ~100x slower in workerd.)
const anyText = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff })), { maxLength: 200 })
  .map((cps) => String.fromCodePoint(...cps));

describe("round-trip (property)", () => {
  it("round-trips any string under any version and record", async () => {
    await fc.assert(fc.asyncProperty(
      anyText,
      fc.integer({ min: 0, max: 2 }),
      fc.string(),
      fc.string(),
      async (value, version, id, kind) => {
        const sealed = await encrypt(HISTORY[version]!, value, { id, kind, field: [id, kind] });
        expect(await decrypt(FULL, sealed, { id, kind, field: [id, kind] })).toEqual({ ok: true, value });
      },
    ));
  });
});

describe("needsReencrypt / reencrypt", () => {
  it("moves old ciphertext to the current version", async () => {
    const old = await encrypt(HISTORY[0]!, "rotate me", aad);
    expect(needsReencrypt(FULL, old)).toBe(true);
    const moved = await reencrypt(FULL, old, aad);
    expect(moved.ok).toBe(true);
    if (!moved.ok) return;
    expect(moved.value.v).toBe(3);
    expect(needsReencrypt(FULL, moved.value)).toBe(false);
    expect(await decrypt(FULL, moved.value, aad)).toEqual({ ok: true, value: "rotate me" });
  });

  it("passes decryption errors through", async () => {
    const old = await encrypt(HISTORY[0]!, "x", aad);
    const r = await reencrypt(FULL, old, { ...aad, id: "cred_02" });
    expect(r.ok ? "ok" : r.error.code).toBe("tampered");
  });
});
