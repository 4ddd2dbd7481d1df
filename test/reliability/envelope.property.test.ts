/**
 * Property tests for the crypto envelope (src/core/crypto/envelope.ts) beyond the unit tests
 * beside it: keyrings with arbitrary version numbers, every version taking its turn as the
 * current one; any edit of the stored record (any byte of its JSON, any field, the bound record id,
 * kind or field) is refused; and re-encryption keeps the value under every version.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeBase64 } from "../../src/core/crypto/encoding.ts";
import { decrypt, encrypt, reencrypt, type Sealed } from "../../src/core/crypto/envelope.ts";
import { type Keyring, parseKeyring } from "../../src/core/crypto/keyring.ts";
import { runs, timeout } from "./soak.ts";

function keyring(versions: number[], material: Map<number, string>): Keyring {
  const json = Object.fromEntries(versions.map((v) => [String(v), material.get(v)!]));
  const r = parseKeyring(JSON.stringify(json));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

// One key per version number, fixed for the run, so the same version means the same key in every
// keyring a case builds (as in production, where a version is never reused for another key).
const MATERIAL = new Map<number, string>();
const materialFor = (v: number) => {
  if (!MATERIAL.has(v)) MATERIAL.set(v, encodeBase64(crypto.getRandomValues(new Uint8Array(32))));
  return v;
};
const versions = fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 6 }).map((vs) =>
  vs.map(materialFor).sort((a, b) => a - b)
);
const anyText = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff })), { maxLength: 120 })
  .map((cps) => String.fromCodePoint(...cps));
const aad = fc.record({
  id: fc.string({ maxLength: 40 }),
  kind: fc.constantFrom("pat", "app_key", "secret", ""),
  field: fc.array(
    fc.oneof(fc.constantFrom("value", "previous", "rotation.new_value", "replies"), fc.string({ maxLength: 8 })),
    { maxLength: 3 },
  ),
});

describe("envelope under every key version", () => {
  it("round-trips any value sealed while each version was current, with the full keyring and after re-encryption", {
    timeout: timeout(30_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(versions, anyText, aad, async (vs, value, bound) => {
        const full = keyring(vs, MATERIAL);
        for (let i = 0; i < vs.length; i++) {
          // The keyring as it was when vs[i] was the newest version.
          const then = keyring(vs.slice(0, i + 1), MATERIAL);
          const sealed = await encrypt(then, value, bound);
          expect(sealed.v).toBe(vs[i]);
          expect(await decrypt(full, sealed, bound)).toEqual({ ok: true, value });
          const moved = await reencrypt(full, sealed, bound);
          expect(moved.ok && moved.value.v).toBe(vs[vs.length - 1]);
          if (moved.ok) expect(await decrypt(full, moved.value, bound)).toEqual({ ok: true, value });
          // Once its version is dropped it no longer opens, and says so.
          if (vs.length > 1) {
            const without = keyring(vs.filter((v) => v !== vs[i]), MATERIAL);
            const r = await decrypt(without, sealed, bound);
            expect(r.ok ? "ok" : r.error.code).toBe("unknown_key_version");
          }
        }
      }),
      { numRuns: runs(30, 2_000) },
    );
  });

  it(
    "refuses the stored record with any one character of its JSON replaced",
    { timeout: timeout(30_000) },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          versions,
          anyText,
          aad,
          fc.nat(),
          fc.integer({ min: 0x20, max: 0x7e }),
          async (vs, value, bound, at, code) => {
            const full = keyring(vs, MATERIAL);
            const stored = JSON.stringify(await encrypt(full, value, bound));
            const i = at % stored.length;
            const edited = stored.slice(0, i) + String.fromCharCode(code) + stored.slice(i + 1);
            fc.pre(edited !== stored);
            let parsed: unknown;
            try {
              parsed = JSON.parse(edited);
            } catch {
              return; // unreadable: refused before decryption
            }
            const r = await decrypt(full, parsed as Sealed, bound);
            expect(r.ok, `${stored} → ${edited}`).toBe(false);
          },
        ),
        { numRuns: runs(300, 20_000) },
      );
    },
  );

  it("refuses any other version label, record id, kind or field", { timeout: timeout(30_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(
        versions,
        anyText,
        aad,
        fc.integer({ min: -5, max: 2_000_000 }),
        aad,
        async (vs, value, bound, v, other) => {
          const full = keyring(vs, MATERIAL);
          const sealed = await encrypt(full, value, bound);
          if (v !== sealed.v) expect((await decrypt(full, { ...sealed, v }, bound)).ok).toBe(false);
          if (JSON.stringify(other) !== JSON.stringify(bound)) {
            const r = await decrypt(full, sealed, other);
            expect(r.ok ? "ok" : r.error.code).toBe("tampered");
          }
        },
      ),
      { numRuns: runs(200, 10_000) },
    );
  });
});
