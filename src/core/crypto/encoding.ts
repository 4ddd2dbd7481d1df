/**
 * Strict base64, base64url and hex codecs for bytes that may come from an attacker (signature
 * headers, stored ciphertexts, configuration).
 *
 * Runtime-neutral: plain JavaScript, no `atob`/`Buffer`. `atob` is lenient (it skips whitespace and
 * tolerates missing padding differently per runtime), so decoding is done here by hand and rejects
 * anything that is not exactly one canonical encoding of some byte string. Canonical matters for
 * tamper detection: if two different strings decoded to the same bytes (e.g. base64 that differs
 * only in its unused trailing bits), an edit to a stored value could go unnoticed.
 *
 * Error messages name the position and the problem, never the input itself: the input may be a
 * secret.
 *
 * @module
 */
import { err, type ErrorValue, ok, type Result } from "../result.ts";

/** Why a string is not a valid encoding. */
export type EncodingError = ErrorValue<"invalid_length" | "invalid_character" | "non_canonical">;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX = "0123456789abcdef";

function lookupTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const BASE64_TABLE = lookupTable(BASE64);
const BASE64URL_TABLE = lookupTable(BASE64URL);

/** Each alphabet's characters as ASCII codes, for the encoders below. */
function asciiCodes(alphabet: string): Uint8Array {
  return Uint8Array.from(alphabet, (c) => c.charCodeAt(0));
}
const BASE64_CODES = asciiCodes(BASE64);
const BASE64URL_CODES = asciiCodes(BASE64URL);
const PAD = 61; // "="

/**
 * The encoders write ASCII codes into one buffer and decode it once: concatenating a string per
 * 3 bytes (or per byte, for hex) took ~6x as long on 10 kB of base64 (a sealed chunk of GitHub
 * tokens) and 1.2-3x as long on a 32-byte digest (Node's V8, microbenchmark); a GitHub batch
 * hex-encodes two digests a token and seals its deferred tokens in chunks. ASCII is valid UTF-8,
 * so the one decoder serves.
 */
const ascii = new TextDecoder();

function encode64(bytes: Uint8Array, codes: Uint8Array, pad: boolean): string {
  const rest = bytes.length % 3;
  const full = bytes.length - rest;
  const out = new Uint8Array((full / 3) * 4 + (rest === 0 ? 0 : pad ? 4 : rest + 1));
  let o = 0;
  let i = 0;
  for (; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = codes[n >> 18]!;
    out[o + 1] = codes[(n >> 12) & 63]!;
    out[o + 2] = codes[(n >> 6) & 63]!;
    out[o + 3] = codes[n & 63]!;
    o += 4;
  }
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out[o] = codes[n >> 18]!;
    out[o + 1] = codes[(n >> 12) & 63]!;
    if (pad) out[o + 2] = out[o + 3] = PAD;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out[o] = codes[n >> 18]!;
    out[o + 1] = codes[(n >> 12) & 63]!;
    out[o + 2] = codes[(n >> 6) & 63]!;
    if (pad) out[o + 3] = PAD;
  }
  return ascii.decode(out);
}

function decode64(input: string, table: Int8Array, name: string): Result<Uint8Array<ArrayBuffer>, EncodingError> {
  let end = input.length;
  // Padding is optional (Standard Webhooks secrets and some senders omit it), but when present it
  // must be complete: "QQ=" is rejected, "QQ" and "QQ==" are accepted.
  if (input.endsWith("=")) {
    if (input.length % 4 !== 0) return invalidLength(name);
    end -= input.endsWith("==") ? 2 : 1;
  }
  if (end % 4 === 1) return invalidLength(name);
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = input.charCodeAt(i);
    const v = c < 128 ? table[c]! : -1;
    if (v < 0) {
      return err({ code: "invalid_character", message: `Cannot decode ${name}: invalid character at index ${i}` });
    }
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits of the last character carry no data; they must be zero so that each byte
  // string has exactly one encoding.
  if ((acc & ((1 << bits) - 1)) !== 0) {
    return err({ code: "non_canonical", message: `Cannot decode ${name}: non-zero trailing bits` });
  }
  return ok(out);
}

function invalidLength(name: string): Result<never, EncodingError> {
  return err({ code: "invalid_length", message: `Cannot decode ${name}: invalid length` });
}

/** Standard base64 (RFC 4648 §4) with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return encode64(bytes, BASE64_CODES, true);
}

/**
 * Decodes standard base64 (RFC 4648 §4). Padding is optional; whitespace, URL-safe characters,
 * partial padding and non-zero trailing bits are rejected.
 */
export function decodeBase64(input: string): Result<Uint8Array<ArrayBuffer>, EncodingError> {
  return decode64(input, BASE64_TABLE, "base64");
}

/** URL-safe base64 (RFC 4648 §5) without padding. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encode64(bytes, BASE64URL_CODES, false);
}

/** Decodes URL-safe base64 (RFC 4648 §5), padded or not, with the same strictness as {@link decodeBase64}. */
export function decodeBase64Url(input: string): Result<Uint8Array<ArrayBuffer>, EncodingError> {
  return decode64(input, BASE64URL_TABLE, "base64url");
}

/** One encoder for every signed body (each verified request builds its signed bytes here). */
const utf8 = new TextEncoder();

/** Each byte's two hex digits as ASCII codes: two lookups a byte, into one buffer (see `ascii`). */
const HEX_HIGH = Uint8Array.from({ length: 256 }, (_, b) => HEX.charCodeAt(b >> 4));
const HEX_LOW = Uint8Array.from({ length: 256 }, (_, b) => HEX.charCodeAt(b & 15));

/** Lowercase hex. */
export function encodeHex(bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out[2 * i] = HEX_HIGH[b]!;
    out[2 * i + 1] = HEX_LOW[b]!;
  }
  return ascii.decode(out);
}

/** Decodes hex (either case). Odd lengths and non-hex characters are rejected. */
export function decodeHex(input: string): Result<Uint8Array<ArrayBuffer>, EncodingError> {
  if (input.length % 2 !== 0) return err({ code: "invalid_length", message: "Cannot decode hex: odd length" });
  const out = new Uint8Array(input.length / 2);
  for (let i = 0; i < input.length; i += 2) {
    const hi = hexValue(input.charCodeAt(i));
    const lo = hexValue(input.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? i : i + 1;
      return err({ code: "invalid_character", message: `Cannot decode hex: invalid character at index ${at}` });
    }
    out[i / 2] = (hi << 4) | lo;
  }
  return ok(out);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/** `prefix` as UTF-8 followed by the raw body bytes, without decoding the body. */
export function signedBytes(prefix: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = utf8.encode(prefix);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
