/** Fingerprints under a raw `REKEY_FINGERPRINT_KEY` string, as tests hold it (src/ imports the key once, in services.ts). */
import { fingerprint, importFingerprintKey } from "../../src/core/crypto/fingerprint.ts";

export async function fingerprintWith(rawKey: string, value: string): Promise<string> {
  const key = await importFingerprintKey(rawKey);
  if (!key.ok) throw new Error(key.error.message);
  return fingerprint(key.value, value);
}
