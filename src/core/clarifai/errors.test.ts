import { describe, expect, it } from "vitest";
import { Failure } from "../failure.ts";
import { CLARIFAI_ERROR_KINDS, clarifaiFailure, kindOf, redact } from "./errors.ts";

describe("kindOf", () => {
  it.each(
    [
      [429, 11005, "throttled"],
      [429, 11003, "throttled"],
      [500, 98004, "server"],
      [500, 99009, "server"],
      [401, 11008, "invalid_key"],
      [401, 11009, "invalid_key"],
      [403, 11007, "insufficient_scopes"],
      [404, 11101, "not_found"],
      [400, 11100, "bad_request"],
      [400, 11102, "bad_request"],
      [409, 40010, "duplicate"],
    ] as const,
  )("maps HTTP %i with code %i to %s", (http, code, kind) => {
    expect(kindOf(http, code)).toBe(kind);
  });

  it("trusts the body's code over a 2xx status", () => {
    expect(kindOf(200, 11008)).toBe("invalid_key");
    expect(kindOf(200, 10020)).toBe("unexpected");
  });

  it("falls back to the HTTP status for codes it does not know", () => {
    expect(kindOf(503, 12345)).toBe("server");
    expect(kindOf(429, undefined)).toBe("throttled");
    expect(kindOf(404, undefined)).toBe("not_found");
    expect(kindOf(400, 10020)).toBe("bad_request");
    expect(kindOf(418, undefined)).toBe("unexpected");
    expect(kindOf(undefined, undefined)).toBe("unexpected");
  });
});

describe("clarifaiFailure", () => {
  it("is retryable exactly for transient kinds", () => {
    const retryable = CLARIFAI_ERROR_KINDS.filter((kind) => clarifaiFailure({ kind, operation: "GetKey" }).retryable);
    expect(retryable).toEqual(["throttled", "server", "timeout", "network"]);
  });

  it("names the operation, code and HTTP status in std style", () => {
    const e = clarifaiFailure({
      kind: "insufficient_scopes",
      operation: "DeleteKey",
      clarifaiCode: 11007,
      httpStatus: 403,
    });
    expect(e.message).toBe('Cannot call Clarifai "DeleteKey": token lacks the required scopes (code 11007, HTTP 403)');
    expect(e).toBeInstanceOf(Failure);
    expect(e).toBeInstanceOf(Error);
    expect(e.tag).toBe("clarifai");
  });

  it("serialises its fields, not a stack", () => {
    const e = clarifaiFailure({
      kind: "throttled",
      operation: "ListKeys",
      clarifaiCode: 11005,
      httpStatus: 429,
      reqId: "r1",
    });
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({
      tag: "clarifai",
      kind: "throttled",
      retryable: true,
      code: "clarifai_throttled",
      clarifaiCode: 11005,
      reqId: "r1",
    });
  });
});

describe("redact", () => {
  it("cuts every sensitive value out of server text", () => {
    expect(redact("key abcd1234 and abcd1234 again, secret s3cr3t!", ["abcd1234", "s3cr3t!"])).toBe(
      "key [redacted] and [redacted] again, secret [redacted]",
    );
  });

  it("ignores values too short to be credentials and caps the length", () => {
    expect(redact("a b c", ["a", ""])).toBe("a b c");
    expect(redact("x".repeat(500), []).length).toBe(201);
  });
});
