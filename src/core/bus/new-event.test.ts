/**
 * `newEvent` checks the envelope's fields and the type's own `data` schema instead of parsing the
 * whole envelope with `busEventSchema` (bench P5). These tests hold it to that union's answer, for
 * every event type: the same event where the union accepts, the same TypeError where it rejects.
 * Pure logic (no store, no runtime adapter).
 */
import { describe, expect, it } from "vitest";
import { busEventSchema, type EventData, type EventType, eventTypes } from "./events.ts";
import { newEvent, newEventId, type NewEventOptions } from "./new-event.ts";
import { iso } from "../time.ts";
import { sampleData } from "../../../test/support/sample-events.ts";

const NOW = Date.parse("2026-08-22T10:00:00Z");
const ID = newEventId();
const opts: NewEventOptions = {
  source: "/rekey/hooks/github",
  subject: "credential/cred_01jc4k8v3e7q9m2xw5r6t8y0zb",
  id: ID,
  now: NOW,
};

/** What `newEvent` answered before: the envelope it builds, parsed by the whole union. */
function viaUnion(type: string, data: unknown, o: NewEventOptions) {
  const parsed = busEventSchema.safeParse({
    specversion: "1.0",
    id: o.id,
    source: o.source,
    type,
    time: iso(o.now),
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    datacontenttype: "application/json",
    data,
  });
  if (parsed.success) return { ok: true as const, event: parsed.data };
  const paths = parsed.error.issues.map((i) => `"${i.path.join(".") || "(root)"}"`).join(", ");
  return { ok: false as const, message: `Cannot build event "${type}": invalid ${paths}` };
}

function viaNewEvent(type: string, data: unknown, o: NewEventOptions) {
  try {
    return { ok: true as const, event: newEvent(type as EventType, data as EventData<EventType>, o) };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { ok: false as const, message: error.message };
  }
}

/** Values a field might wrongly get: other types, empty, out of range, secret-like, too long. */
const WRONG: unknown[] = [
  undefined,
  null,
  true,
  0,
  -1,
  1.5,
  1e12,
  "",
  "x",
  "3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b",
  "ghp_R2d2C3poL0k1Sk4yWalk3rH4nS0l0Chewb4cc",
  "a".repeat(2000),
  [],
  ["x"],
  {},
];

const DROP = Symbol("drop");

/** The sample's data with one field (at any depth) replaced, or dropped, or one field added. */
function* variants(value: unknown, path: string[] = []): Generator<{ label: string; data: unknown }> {
  if (value === null || typeof value !== "object") return;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const put = (key: string, v: unknown) => {
    if (Array.isArray(value)) {
      const copy: unknown[] = [...value];
      if (v === DROP) copy.splice(Number(key), 1);
      else copy[Number(key)] = v;
      return copy;
    }
    const copy: Record<string, unknown> = { ...value };
    if (v === DROP) delete copy[key];
    else copy[key] = v;
    return copy;
  };
  for (const [key, v] of entries) {
    for (const w of [DROP, ...WRONG]) {
      yield {
        label: `${[...path, key].join(".")} = ${w === DROP ? "(dropped)" : JSON.stringify(w)}`,
        data: put(key, w),
      };
    }
    for (const inner of variants(v, [...path, key])) yield { label: inner.label, data: put(key, inner.data) };
  }
  if (!Array.isArray(value)) yield { label: `${path.join(".") || "data"} + extra field`, data: put("value", "x") };
}

/** Wraps a variant of the sample's nested data back into a whole `data`. */
const wholeVariants = (type: EventType) => [
  { label: "the sample", data: sampleData[type] as unknown },
  ...variants(sampleData[type]),
  ...WRONG.map((w) => ({ label: `data = ${JSON.stringify(w)}`, data: w })),
];

const OPTION_VARIANTS: Array<{ label: string; o: NewEventOptions }> = [
  { label: "no subject", o: { source: opts.source, id: ID, now: NOW } },
  { label: "a random id", o: { source: opts.source, now: NOW } },
  { label: "a bad id", o: { ...opts, id: "evt_short" } },
  { label: "a secret as id", o: { ...opts, id: "3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b" } },
  { label: "a bad source", o: { ...opts, source: "https://example.com/x" } },
  { label: "an empty source", o: { ...opts, source: "" } },
  { label: "a bad subject", o: { ...opts, subject: "credential" } },
  { label: "bad id, source and subject", o: { ...opts, id: "x", source: "x", subject: "x" } },
  { label: "a time before 1970", o: { ...opts, now: -1 } },
  { label: "a far time", o: { ...opts, now: 8.64e15 } },
];

describe("newEvent answers as busEventSchema would (pure logic)", () => {
  it.each(eventTypes)("%s: every data variant, accepted or rejected alike", (type) => {
    let accepted = 0;
    let rejected = 0;
    for (const { label, data } of wholeVariants(type)) {
      const want = viaUnion(type, data, opts);
      const got = viaNewEvent(type, data, opts);
      expect(got.ok, label).toBe(want.ok);
      if (want.ok && got.ok) {
        expect(got.event, label).toEqual(want.event);
        // The same JSON text, key order included: that text is what the queues carry.
        expect(JSON.stringify(got.event), label).toBe(JSON.stringify(want.event));
        accepted++;
      } else if (!want.ok && !got.ok) {
        expect(got.message, label).toBe(want.message);
        rejected++;
      }
    }
    // The variants do exercise both answers for every type.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });

  it.each(eventTypes)("%s: every option variant, with good and bad data", (type) => {
    for (const { label, o } of OPTION_VARIANTS) {
      for (const data of [sampleData[type], { ...sampleData[type], value: "x" }]) {
        const got = viaNewEvent(type, data, o);
        // A random id differs from run to run: the union parses the one chosen (any random one
        // when the event was refused, since a random id is valid by construction).
        const want = viaUnion(type, data, { ...o, id: got.ok ? got.event.id : (o.id ?? newEventId()) });
        expect(got.ok, label).toBe(want.ok);
        if (want.ok && got.ok) expect(JSON.stringify(got.event), label).toBe(JSON.stringify(want.event));
        else if (!want.ok && !got.ok) expect(got.message, label).toBe(want.message);
      }
    }
  });

  it("rejects an unknown type as the union does, prototype names included", () => {
    for (const type of ["rotation.unknown", "", "__proto__", "toString", "constructor", "hasOwnProperty"]) {
      const want = viaUnion(type, {}, opts);
      const got = viaNewEvent(type, {}, opts);
      expect(want.ok).toBe(false);
      expect(got).toEqual(want);
    }
  });

  it("names paths, never values", () => {
    const secret = "ghp_R2d2C3poL0k1Sk4yWalk3rH4nS0l0Chewb4cc";
    const got = viaNewEvent("credential.read", { ...sampleData["credential.read"], consumer: secret }, {
      ...opts,
      id: secret,
    });
    expect(got).toEqual({ ok: false, message: 'Cannot build event "credential.read": invalid "id", "data.consumer"' });
  });

  it("returns a frozen event, marked as validated", async () => {
    const { assertPublishable } = await import("./events.ts");
    const data = { ...sampleData["alert.received"] };
    const e = newEvent("alert.received", data, opts);
    expect(Object.isFrozen(e) && Object.isFrozen(e.data)).toBe(true);
    // Its data is the parse's copy, as the union's was: the caller's object is neither kept nor frozen.
    expect(e.data).not.toBe(data);
    expect(Object.isFrozen(data)).toBe(false);
    expect(assertPublishable(e)).toBe(e);
  });
});
