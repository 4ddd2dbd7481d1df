import { describe, expect, it } from "vitest";
import { pemToDer } from "./pem.ts";
import { derToPem } from "../../../scripts/lib/der-encode.ts";

const V1_PEM =
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n";

describe("pem", () => {
  it("round-trips GitHub's PEM layout exactly", () => {
    const der = pemToDer(V1_PEM);
    expect(der).toHaveLength(91);
    expect(derToPem(der!)).toBe(V1_PEM);
  });

  it("accepts CRLF and a missing final newline", () => {
    expect(pemToDer(V1_PEM.replace(/\n/g, "\r\n"))).toEqual(pemToDer(V1_PEM));
    expect(pemToDer(V1_PEM.trimEnd())).toEqual(pemToDer(V1_PEM));
  });

  it.each([
    ["another label", V1_PEM.replace(/PUBLIC KEY/g, "PRIVATE KEY")],
    ["two blocks", V1_PEM + V1_PEM],
    ["bad base64", V1_PEM.replace("MFkw", "MF!w")],
    ["no block", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"],
    ["empty body", "-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----\n"],
  ])("rejects %s", (_name, pem) => {
    expect(pemToDer(pem)).toBeUndefined();
  });
});
