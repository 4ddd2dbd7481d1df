import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { derToP1363 } from "./ecdsa-der.ts";
import { p1363ToDer } from "../../../scripts/lib/der-encode.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));
const int = (body: string) => `02${(body.length / 2).toString(16).padStart(2, "0")}${body}`;
const seq = (content: string) => `30${(content.length / 2).toString(16).padStart(2, "0")}${content}`;
const R = "7f".padEnd(64, "11");
const S = "00" + "80".padEnd(64, "22"); // needs its sign byte

describe("derToP1363", () => {
  it("converts a DER signature and strips the sign byte", () => {
    const raw = derToP1363(hex(seq(int(R) + int(S))));
    expect(raw).toEqual(hex(R + S.slice(2)));
  });

  it("left-pads short integers", () => {
    const raw = derToP1363(hex(seq(int("01") + int("7f"))));
    expect(raw).toEqual(hex("00".repeat(31) + "01" + "00".repeat(31) + "7f"));
  });

  it("round-trips any r||s (property)", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
      expect(derToP1363(p1363ToDer(raw))).toEqual(raw);
    }));
  });

  it("never throws on arbitrary bytes (property)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const out = derToP1363(bytes);
      expect(out === undefined || out.length === 64).toBe(true);
    }));
  });

  it.each([
    ["empty", ""],
    ["not a SEQUENCE", "31" + seq(int(R) + int(S)).slice(2)],
    ["wrong INTEGER tag", seq("03" + int(R).slice(2) + int(S))],
    ["trailing bytes", seq(int(R) + int(S)) + "00"],
    ["trailing bytes inside the SEQUENCE", seq(int(R) + int(S) + "00")],
    ["sequence length too long", "3046" + int(R) + int(S)],
    ["sequence length too short", "3043" + int(R) + int(S)],
    ["one integer only", seq(int(R))],
    ["three integers", seq(int("01") + int("01") + int("01"))],
    ["integer too long", seq(int("01" + R) + int(S))],
    ["33 bytes with a needless zero", seq(int("00" + R) + int(S))],
    ["needless zero on a short integer", seq(int("0001") + int(S))],
    ["negative integer", seq(int("80") + int(S))],
    ["empty integer", seq("0200" + int(S))],
    ["integer past the end", seq(int(R) + "0221" + "01")],
    ["indefinite length", "3080" + int(R) + int(S) + "0000"],
    ["non-minimal long-form length", "308144" + int(R) + int(S)],
  ])("rejects %s", (_name, der) => {
    expect(derToP1363(der ? hex(der) : new Uint8Array())).toBeUndefined();
  });
});
