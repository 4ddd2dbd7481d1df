/**
 * Random identifiers and generated secret values, from `crypto.getRandomValues` (a CSPRNG in every
 * supported runtime).
 *
 * Ids look like `cred_01jc4k8v3e7q9m2xw5r6t8y0zb`: a lowercase prefix, `_`, and a 26-character
 * lowercase Crockford base32 ULID (48-bit millisecond time, then 80 random bits), the same shape as
 * a TypeID. The time prefix makes KV `list()` by id chronological, which the audit trail and sweeps
 * rely on. Trade-off: an id reveals when its record was created, which is not secret here. Ids
 * made in the same millisecond sort in random order.
 *
 * @module
 */
import { encodeBase64Url } from "./encoding.ts";

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const PREFIX = /^[a-z][a-z0-9]{0,19}$/;
const TIME_CHARS = 10;
const RANDOM_BYTES = 10;
const MAX_TIME = 2 ** 48 - 1;

/**
 * A new id `${prefix}_<26 chars>`.
 *
 * @param prefix lowercase letters and digits, starting with a letter, e.g. `cred`
 * @param now milliseconds since the epoch (injectable for tests)
 */
export function randomId(prefix: string, now: number = Date.now()): string {
  if (!PREFIX.test(prefix)) throw new TypeError(`Cannot create id: invalid prefix "${prefix}"`);
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) {
    throw new RangeError(`Cannot create id: time is out of range: current value is ${now}`);
  }
  let time = "";
  for (let t = now, i = 0; i < TIME_CHARS; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32]! + time;
  return `${prefix}_${time}${base32(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)))}`;
}

/** True if `value` has the shape of an id made by {@link randomId} with this prefix. */
export function isRandomId(value: string, prefix: string): boolean {
  // The first time character is at most "7": 10 base32 characters hold 50 bits, time uses 48.
  return (
    value.length === prefix.length + 27 &&
    value.startsWith(`${prefix}_`) &&
    /^[0-7][0-9a-hjkmnp-tv-z]{25}$/.test(value.slice(prefix.length + 1))
  );
}

/**
 * A new random secret value: `bytes` random bytes as unpadded base64url (43 characters for the
 * default 32 bytes, i.e. 256 bits).
 */
export function randomSecretValue(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 1024) {
    throw new RangeError(
      `Cannot generate secret value: bytes must be an integer from 16 to 1024: current value is ${bytes}`,
    );
  }
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

// 80 bits -> 16 characters, 5 bits at a time, most significant first.
function base32(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31]!;
    }
  }
  return out;
}
