/**
 * Seals a value exactly as rekey did before the field was bound into the AAD: AES-256-GCM with
 * AAD `["rekey.sealed.v1", id, kind, version]` and no `aad` marker in the stored object. Written
 * out here, independently of src/core/crypto/envelope.ts, so upgrade tests hold records as the old
 * code left them.
 */
import { decodeBase64, encodeBase64 } from "../../src/core/crypto/encoding.ts";
import type { Sealed } from "../../src/core/crypto/envelope.ts";

export async function sealLegacy(
  keysJson: string,
  version: number,
  plaintext: string,
  aad: { id: string; kind: string },
): Promise<Sealed> {
  const raw = decodeBase64((JSON.parse(keysJson) as Record<string, string>)[String(version)]!);
  if (!raw.ok) throw new Error("test key is not base64");
  const key = await crypto.subtle.importKey("raw", raw.value, { name: "AES-GCM" }, false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = new TextEncoder().encode(JSON.stringify(["rekey.sealed.v1", aad.id, aad.kind, version]));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData, tagLength: 128 },
    key,
    new TextEncoder().encode(plaintext),
  );
  return { v: version, iv: encodeBase64(iv), ct: encodeBase64(new Uint8Array(ct)) };
}
