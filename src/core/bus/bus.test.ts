import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "./backoff.ts";
import { busFailure, Dispatcher, runOnce } from "./bus.ts";
import { clarifaiFailure } from "../clarifai/errors.ts";
import { stepFailure } from "../rotation/step-error.ts";
import { handlerFailure } from "./errors.ts";
import { ledgerKey } from "./ledger.ts";
import { MemoryLedger } from "./memory-ledger.ts";
import { newEvent } from "./new-event.ts";
import { sampleData } from "../../../test/support/sample-events.ts";

const NOW = Date.parse("2026-08-22T10:00:00Z");
const compromised = () =>
  newEvent("credential.compromised", sampleData["credential.compromised"], { source: "/rekey/hooks/github", now: NOW });

function setup() {
  let clock = NOW;
  const ledger = new MemoryLedger({ now: () => clock });
  const dispatcher = new Dispatcher({ ledger, leaseMs: 1_000 });
  return { ledger, dispatcher, advance: (ms: number) => (clock += ms) };
}

describe("Dispatcher", () => {
  it("runs a handler once for the same event delivered twice", async () => {
    const { dispatcher } = setup();
    const seen: string[] = [];
    dispatcher.subscribe("credential.compromised", "rotator", (e) => void seen.push(e.data.credential_id));
    const e = compromised();
    expect(await dispatcher.dispatch(e)).toEqual({ verdict: "ack", results: [{ handler: "rotator", status: "ran" }] });
    expect(await dispatcher.dispatch(structuredClone(e), { attempt: 2 })).toEqual({
      verdict: "ack",
      results: [{ handler: "rotator", status: "skipped" }],
    });
    expect(seen).toEqual([sampleData["credential.compromised"].credential_id]);
  });

  it("runs a failed handler again on redelivery, and only that one", async () => {
    const { dispatcher, ledger } = setup();
    const calls = { flaky: 0, steady: 0 };
    dispatcher.subscribe("credential.compromised", "flaky", () => {
      if (++calls.flaky === 1) throw new Error("Clarifai is down");
    });
    dispatcher.subscribe("credential.compromised", "steady", () => void calls.steady++);
    const e = compromised();
    const first = await dispatcher.dispatch(e);
    expect(first.verdict).toBe("retry");
    expect(first.results).toEqual([
      { handler: "flaky", status: "failed", failure: { retryable: true, code: "error", message: "Clarifai is down" } },
      { handler: "steady", status: "ran" },
    ]);
    expect(ledger.peek(ledgerKey(e, "flaky"))).toBeUndefined();
    const second = await dispatcher.dispatch(e, { attempt: 2 });
    expect(second).toEqual({
      verdict: "ack",
      results: [{ handler: "flaky", status: "ran" }, { handler: "steady", status: "skipped" }],
    });
    expect(calls).toEqual({ flaky: 2, steady: 1 });
  });

  it("keeps events with the same id from different sources apart", async () => {
    const { dispatcher } = setup();
    let n = 0;
    dispatcher.subscribe("credential.compromised", "rotator", () => void n++);
    const e = compromised();
    await dispatcher.dispatch(e);
    await dispatcher.dispatch({ ...e, source: "/rekey/hooks/alerts" });
    expect(n).toBe(2);
  });

  it("dead-letters permanent failures, and retries when a retryable one is also pending", async () => {
    const { dispatcher } = setup();
    dispatcher.subscribe("credential.compromised", "notifier", () => {
      throw handlerFailure("unknown_target", 'Cannot notify "slack-x": no such target', { retryable: false });
    });
    expect(await dispatcher.dispatch(compromised())).toMatchObject({
      verdict: "dead_letter",
      reason: "notifier:unknown_target",
    });
    dispatcher.subscribe("credential.compromised", "auditor", () => {
      throw new TypeError("boom");
    });
    expect(await dispatcher.dispatch(compromised())).toMatchObject({ verdict: "retry" });
  });

  it("answers in_progress while another delivery holds the claim, then takes over after the lease", async () => {
    const { ledger, dispatcher, advance } = setup();
    let n = 0;
    dispatcher.subscribe("credential.compromised", "rotator", () => void n++);
    const e = compromised();
    // A delivery whose isolate died mid-handler: claimed, never completed or released.
    expect(await ledger.claim(ledgerKey(e, "rotator"), { owner: "dead", leaseMs: 1_000 })).toBe("new");
    expect(await dispatcher.dispatch(e)).toEqual({
      verdict: "retry",
      results: [{ handler: "rotator", status: "in_progress" }],
    });
    advance(1_001);
    expect((await dispatcher.dispatch(e)).verdict).toBe("ack");
    expect(n).toBe(1);
  });

  it("does not let a late release drop someone else's claim", async () => {
    const { ledger } = setup();
    await ledger.claim("k", { owner: "a", leaseMs: 1_000 });
    await ledger.release("k", "b");
    expect(ledger.peek("k")).toBe("in_progress");
    await ledger.release("k", "a");
    expect(ledger.peek("k")).toBeUndefined();
    // A completed entry is its completer's to release, no one else's.
    await ledger.claim("k", { owner: "c", leaseMs: 1_000 });
    await ledger.complete("k", "c");
    await ledger.release("k", "a");
    expect(ledger.peek("k")).toBe("done");
    await ledger.release("k", "c");
    expect(ledger.peek("k")).toBeUndefined();
  });

  it("MemoryLedger.once: true the first time, false while remembered, true again after holdMs", async () => {
    let now = 0;
    const ledger = new MemoryLedger({ now: () => now });
    expect(await ledger.once("k", 100)).toBe(true);
    expect(await ledger.once("k", 100)).toBe(false);
    expect(ledger.peek("k")).toBe("done");
    now = 101;
    expect(await ledger.once("k", 100)).toBe(true);
  });

  it("retries when the ledger is unreachable", async () => {
    const broken = {
      claim: () => Promise.reject(new Error("DO overloaded")),
      complete: async () => {},
      release: async () => {},
      once: async () => true,
    };
    const r = await runOnce(broken, "k", 1_000, () => {
      throw new Error("must not run");
    });
    expect(r).toMatchObject({ status: "failed", failure: { retryable: true, code: "ledger_unavailable" } });
  });

  it("refuses bad or duplicate handler names", () => {
    const { dispatcher } = setup();
    dispatcher.subscribe("rotation.failed", "notifier", () => {});
    expect(() => dispatcher.subscribe("rotation.failed", "notifier", () => {})).toThrow(
      /already handles "rotation.failed"/,
    );
    expect(() => dispatcher.subscribe("rotation.failed", "Bad Name", () => {})).toThrow(/invalid handler name/);
    dispatcher.subscribe("rotation.completed", "notifier", () => {});
    expect(dispatcher.subscribers("rotation.failed")).toEqual(["notifier"]);
  });
});

describe("busFailure", () => {
  it("is retryable unless a Failure says otherwise", () => {
    expect(busFailure(new Error("x"))).toMatchObject({ retryable: true, code: "error" });
    expect(busFailure(new TypeError("x"))).toMatchObject({ retryable: true, code: "type_error" });
    expect(busFailure(handlerFailure("bad_request", "x", { retryable: false }))).toMatchObject({
      retryable: false,
      code: "bad_request",
    });
    expect(busFailure(stepFailure(false, "clarifai_invalid_key", "x"))).toMatchObject({
      retryable: false,
      code: "clarifai_invalid_key",
    });
    expect(busFailure(clarifaiFailure({ kind: "invalid_key", operation: "DeleteKey", clarifaiCode: 11008 })))
      .toMatchObject({ retryable: false, code: "clarifai_error" });
    expect(busFailure(clarifaiFailure({ kind: "server", operation: "DeleteKey" }))).toMatchObject({
      retryable: true,
      code: "clarifai_error",
    });
    expect(busFailure("oops")).toMatchObject({ retryable: true, code: "error" });
    // A code that is not a code (here, something token-shaped) is not copied: the class names it.
    expect(busFailure(handlerFailure("3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b", "x", { retryable: false })).code).toBe(
      "permanent_error",
    );
  });

  it("reads failures by class, so a look-alike object cannot pose as a permanent failure", () => {
    expect(busFailure(Object.assign(new Error("x"), { retryable: false, code: "bad_request" }))).toMatchObject({
      retryable: true,
      code: "error",
    });
    expect(busFailure({ transient: false, code: "clarifai_invalid_key" })).toMatchObject({
      retryable: true,
      code: "error",
    });
  });
});

describe("retryDelaySeconds", () => {
  it("doubles from 10 s and stops at the 12-hour Queues maximum", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelaySeconds(a))).toEqual([10, 20, 40, 80, 160, 320]);
    expect(retryDelaySeconds(40)).toBe(43_200);
    expect(retryDelaySeconds(10_000)).toBe(43_200);
    expect(retryDelaySeconds(0)).toBe(10);
    expect(retryDelaySeconds(Number.NaN)).toBe(10);
  });
});
