/**
 * The versioned master keys that encrypt secret values at rest.
 *
 * `REKEY_ENCRYPTION_KEYS` is a JSON object mapping a key version to a base64 (standard alphabet,
 * padding optional) AES-256 key, e.g. `{"1":"<44 base64 chars>","2":"<44 base64 chars>"}`:
 * - versions are positive integers written without sign or leading zeros (`"1"`, `"12"`);
 * - every key is exactly 32 random bytes (`openssl rand -base64 32`);
 * - the highest version encrypts; every listed version decrypts. To rotate the master key, add a
 *   higher version, deploy, re-encrypt the records ({@link needsReencrypt} in `envelope.ts`), then
 *   drop the old version.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import { decodeBase64 } from "./encoding.ts";

/** Why `REKEY_ENCRYPTION_KEYS` was refused. Messages never contain key material. */
export type KeyringError = ErrorValue<"invalid_json" | "invalid_version" | "invalid_key" | "empty">;

/** A parsed set of AES-256-GCM master keys. */
export interface Keyring {
  /** The highest version: the one new ciphertexts are sealed under. */
  readonly currentVersion: number;
  /** Every version this keyring can decrypt, highest first. */
  readonly versions: readonly number[];
  has(version: number): boolean;
  /**
   * The non-extractable AES-GCM key for `version`, imported on first use and cached, or `undefined`
   * if the version is not in the keyring.
   */
  cryptoKey(version: number): Promise<CryptoKey> | undefined;
}

const KEY_BYTES = 32;
const VERSION = /^[1-9][0-9]{0,14}$/; // at most 15 digits keeps it a safe integer

/**
 * Parses `REKEY_ENCRYPTION_KEYS` (see the module docs for the format).
 *
 * @example
 * ```ts
 * const keyring = parseKeyring(env.REKEY_ENCRYPTION_KEYS);
 * if (!keyring.ok) throw new Error(keyring.error.message);
 * ```
 */
export function parseKeyring(json: string): Result<Keyring, KeyringError> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    // JSON.parse's own message quotes the input, which here is key material: do not forward it.
    return fail("invalid_json", "Cannot parse encryption keys: value is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return fail("invalid_json", "Cannot parse encryption keys: value is not a JSON object");
  }
  const raw = new Map<number, Uint8Array<ArrayBuffer>>();
  for (const [name, value] of Object.entries(parsed)) {
    if (!VERSION.test(name)) {
      // A version that fails this check could be a key pasted in the wrong place, so it is not
      // quoted.
      return fail("invalid_version", "Cannot parse encryption keys: a version is not a positive integer");
    }
    const bytes = typeof value === "string" ? decodeBase64(value) : undefined;
    if (bytes === undefined || !bytes.ok) {
      return fail("invalid_key", `Cannot parse encryption keys: key version "${name}" is not base64`);
    }
    if (bytes.value.length !== KEY_BYTES) {
      return fail("invalid_key", `Cannot parse encryption keys: key version "${name}" is not ${KEY_BYTES} bytes`);
    }
    raw.set(Number(name), bytes.value);
  }
  if (raw.size === 0) return fail("empty", "Cannot parse encryption keys: no key is configured");
  return ok(createKeyring(raw));
}

function createKeyring(raw: Map<number, Uint8Array>): Keyring {
  const versions = [...raw.keys()].sort((a, b) => b - a);
  const imported = new Map<number, Promise<CryptoKey>>();
  // Key bytes live only in this closure (not on an enumerable property) so that logging or
  // serialising the keyring cannot print them.
  const cryptoKey = (version: number): Promise<CryptoKey> | undefined => {
    const cached = imported.get(version);
    if (cached) return cached;
    const bytes = raw.get(version);
    if (!bytes) return undefined;
    const pending = crypto.subtle.importKey("raw", bytes as BufferSource, { name: "AES-GCM" }, false, [
      "encrypt",
      "decrypt",
    ]).then(
      (key) => {
        // Best effort only: the env string still holds the key, and JS cannot promise erasure.
        bytes.fill(0);
        raw.delete(version);
        return key;
      },
      (error: unknown) => {
        imported.delete(version);
        throw error;
      },
    );
    imported.set(version, pending);
    return pending;
  };
  return {
    currentVersion: versions[0]!,
    versions,
    has: (version) => imported.has(version) || raw.has(version),
    cryptoKey,
  };
}

function fail(code: KeyringError["code"], message: string): Result<never, KeyringError> {
  return err({ code, message });
}
