import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { busEventSchema, eventDataSchemas, type EventType, eventTypes, parseEvent } from "./events.ts";
import { deriveId, newEvent, newEventId } from "./new-event.ts";
import { sampleData } from "../../../test/support/sample-events.ts";

const NOW = Date.parse("2026-08-22T10:00:00Z");
const opts = { source: "/rekey/hooks/github", subject: "credential/cred_01jc4k8v3e7q9m2xw5r6t8y0zb", now: NOW };
const build = <T extends EventType>(type: T) => newEvent(type, sampleData[type], opts);

// Shapes a leaked value could take: a Clarifai PAT / key id (32 hex), a generated secret
// (43 base64url), a GitHub-style token, and a long snake_case-looking string.
const SECRETS = [
  "3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b",
  "kB2x9QvZr7Lw0pN4sT6yU8aC1dE3fG5hJ7kM9nP2qR4",
  "ghp_R2d2C3poL0k1Sk4yWalk3rH4nS0l0Chewb4cc",
  "abcdefabcdefabcdefabcdefabcdefab",
  "secret_value_that_should_never_travel_in_an_event",
];
/** The fields allowed to be long: opaque storage list cursors, positions in the key space and not values. */
const LONG_OK = new Set(["sweep.batch.cursor", "maintenance.reencrypt.cursor", "github.alerts_scan.cursor"]);

describe("event envelopes", () => {
  it.each(eventTypes)("builds and validates %s", (type) => {
    const e = build(type);
    expect(e).toMatchObject({ specversion: "1.0", type, source: opts.source, datacontenttype: "application/json" });
    expect(e.time).toBe("2026-08-22T10:00:00.000Z");
    expect(e.id).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
    // What travels is JSON: the round trip must validate to the same event.
    const again = parseEvent(JSON.parse(JSON.stringify(e)));
    expect(again.ok && again.value).toEqual(e);
  });

  it("has one data schema and one union member per type", () => {
    expect(Object.keys(eventDataSchemas).sort()).toEqual([...eventTypes].sort());
    expect(busEventSchema.def.options.map((o) => o.shape.type.def.values[0]).sort()).toEqual([...eventTypes].sort());
  });

  it.each(eventTypes)("%s rejects unknown fields in data and envelope", (type) => {
    const e = build(type);
    for (
      const extra of [{ data: { ...e.data, value: "x" } }, { data: { ...e.data, token: "x" } }, { secret: "x" }, {
        datacontentencoding: "base64",
      }]
    ) {
      expect(parseEvent({ ...e, ...extra }).ok).toBe(false);
    }
  });

  it.each(eventTypes)("%s: no field takes a secret-like value", (type) => {
    const e = build(type);
    const fields: Array<[string, (v: string) => unknown]> = [
      ...Object.keys(e.data).map((
        k,
      ): [string, (v: string) => unknown] => [`${type}.${k}`, (v) => ({ ...e, data: { ...e.data, [k]: v } })]),
      ...["id", "source", "subject", "time", "type"].map((
        k,
      ): [string, (v: string) => unknown] => [`envelope.${k}`, (v) => ({ ...e, [k]: v })]),
    ];
    for (const [path, put] of fields) {
      if (LONG_OK.has(path)) continue;
      const original = path.startsWith("envelope.")
        ? (e as Record<string, unknown>)[path.slice(9)]
        : (e.data as Record<string, unknown>)[path.split(".").pop()!];
      // A prefix copied from the real value (`cred_`, `/rekey/`, `alrt_`) must not help either.
      const prefix = typeof original === "string" ? (/^[^_/:]*[_/:]/.exec(original)?.[0] ?? "") : "";
      for (const secret of SECRETS.flatMap((s) => [s, prefix + s])) {
        expect(parseEvent(put(secret)).ok, `${path} accepted ${secret}`).toBe(false);
      }
    }
  });

  it("rejects a bad specversion, time, id, source or content type", () => {
    const e = build("rotation.step");
    for (
      const bad of [
        { specversion: "0.3" },
        { time: "yesterday" },
        { time: "2026-08-22 10:00:00" },
        { id: "" },
        { id: "evt_short" },
        { source: "https://example.com/x" },
        { datacontenttype: "text/plain" },
        { type: "rotation.unknown" },
      ]
    ) {
      expect(parseEvent({ ...e, ...bad }).ok, JSON.stringify(bad)).toBe(false);
    }
    expect(parseEvent({ ...e, time: "2026-08-22T12:00:00+02:00" }).ok).toBe(true);
  });

  it("reports invalid paths without the offending values", () => {
    const r = parseEvent({
      ...build("rotation.failed"),
      data: { ...sampleData["rotation.failed"], error_code: SECRETS[0] },
    });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(SECRETS[0]);
    expect(() => newEvent("rotation.failed", { ...sampleData["rotation.failed"], error_code: SECRETS[0]! }, opts))
      .toThrow(
        /^Cannot build event "rotation.failed": invalid "data.error_code"$/,
      );
  });

  it("makes random ids, or derives the same id from the same parts", async () => {
    const ids = new Set(Array.from({ length: 1000 }, newEventId));
    expect(ids.size).toBe(1000);
    const a = await deriveId("evt", "webhook", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    expect(a).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
    expect(await deriveId("evt", "webhook", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")).toBe(a);
    expect(await deriveId("evt", "webhook:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")).not.toBe(a);
    expect(await deriveId("alrt", "webhook", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")).toMatch(/^alrt_/);
    const e = newEvent("alert.received", sampleData["alert.received"], { ...opts, id: a });
    expect(e.id).toBe(a);
  });
});

describe("github.tokens_deferred's ciphertext check (pure logic, no storage)", () => {
  // The schema checks `ct` with a loop over char codes, not the regex it replaced (bench P5): it
  // must accept exactly what that regex accepts.
  const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
  const schema = eventDataSchemas["github.tokens_deferred"];
  const accepts = (ct: string) =>
    schema.safeParse({ ...sampleData["github.tokens_deferred"], sealed: { v: 1, aad: 2, iv: "AAECAwQFBgcICQoL", ct } })
      .success;

  it.each([
    "",
    "=",
    "==",
    "A",
    "A=",
    "A==",
    "A===",
    "=A",
    "A=A",
    "AB+/",
    "AB-_",
    "AB\n",
    "\nAB",
    "AB ",
    "Aé",
    "A\u0000",
    "c2FtcGxlIGNpcGhlcnRleHQgYW5kIHRhZw==",
  ])("agrees with the regex on %j", (ct) => {
    expect(accepts(ct)).toBe(BASE64.test(ct));
  });

  it("agrees with the regex on random strings over base64's alphabet and its neighbours", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(..."AZaz09+/=-_ \n\u00e9\u{1F600}".split("")), maxLength: 12 }),
        (ct) => accepts(ct) === BASE64.test(ct),
      ),
      { numRuns: 2000 },
    );
  });
});
