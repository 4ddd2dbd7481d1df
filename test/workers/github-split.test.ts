/**
 * A GitHub partner alert larger than one invocation handles (GITHUB_INLINE_TOKENS, INLINE_TOKENS by default),
 * split across invocations (core/alerts/deferred-tokens.ts), on the real Worker and bindings (KV,
 * Durable Objects, Queues) against the Clarifai emulator: the request handles the first INLINE_TOKENS tokens
 * and queues the rest as sealed `github.tokens_deferred` chunks, each its own consumer invocation.
 *
 * The request is driven through `worker.fetch` with a counting env whose queues are captured
 * (test/support/counting-env.ts); captured events are handed to `worker.queue` one message per
 * invocation, as wrangler.toml's consumer takes them, until nothing is left.
 */
import { env } from "cloudflare:workers";
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { INLINE_TOKENS } from "../../src/core/alerts/deferred-tokens.ts";
import worker, { type Env } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { countingEnv, invocation } from "../support/counting-env.ts";
import { githubAlertInvocation } from "../support/counted-worker.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { signedGithubAlert } from "../support/github-test-key.ts";
import { registerManager } from "../support/manager.ts";

const TOKENS = 1_000;
/** Beyond the inline part: only a deferred chunk can find it. */
const MANAGED_AT = 700;

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let leaks: ReturnType<typeof canary>;
let credentialId: string;
let leakedKey: string;
let body: string;
/** Everything the Worker published (every event body, as JSON) and answered. */
const said: string[] = [];
const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("ghsplit");
  leaks.secrets.push(tenant.manager.id);
  const { key, id } = await registerAppKey(tenant, {
    managerId: await registerManager(tenant),
    label: "split-1",
    secrets: leaks.secrets,
    policy: { grace_hours: 24 },
  });
  leakedKey = key.id;
  credentialId = id;
  const items = Array.from({ length: TOKENS }, (_, i) => ({
    token: `ghsplit_${i.toString(16).padStart(4, "0")}_${crypto.randomUUID().replaceAll("-", "")}`,
    type: "clarifai_api_key",
    url: `https://github.com/example/repo/blob/${"0".repeat(40)}/config/file-${i}.env`,
    source: "content",
  }));
  items[MANAGED_AT]!.token = leakedKey;
  // The unknown tokens are leaked values too, as far as rekey knows: none may show in clear.
  leaks.secrets.push(...items.filter((_, i) => i % 97 === 0).map((it) => it.token));
  body = JSON.stringify(items);
}, 60_000);

type Msg = { id: string; timestamp: Date; attempts: number; body: unknown };
const typeOf = (b: unknown) => (b as { type: string }).type;

async function postAlert() {
  const { result: res, counts } = await githubAlertInvocation(counting, "request", body);
  const text = await res.text();
  said.push(text);
  const events = counting.take("rekey-events");
  said.push(...events.map((e) => JSON.stringify(e)));
  return { res, text, counts, events };
}

/**
 * The consumer as Queues runs it, one message per invocation, retried messages again (without
 * their delay), until nothing is left. Returns the type of every message handled (first attempts).
 */
async function drain(first: unknown[], queue = "rekey-events") {
  const pending: Msg[] = [];
  const enqueue = (bodies: unknown[], attempts = 1) =>
    pending.push(...bodies.map((b) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body: b })));
  enqueue(first);
  const handled: string[] = [];
  const dead: unknown[] = [];
  let n = 0;
  while (pending.length > 0) {
    expect(n++, "the consumer never drained the queue").toBeLessThan(500);
    const m = pending.shift()!;
    if (m.attempts === 1) handled.push(typeOf(m.body));
    const batch = createMessageBatch(queue, [m]);
    const { result, counts } = await invocation(counting, `queue:${typeOf(m.body)}`, async (ctx) => {
      await worker.queue(batch, counting.env, ctx);
      return getQueueResult(batch, ctx);
    });
    expect(counts.subrequests, `${typeOf(m.body)}: ${JSON.stringify(counts)}`).toBeLessThanOrEqual(50);
    if (result.retryMessages.length > 0) pending.push({ ...m, id: crypto.randomUUID(), attempts: m.attempts + 1 });
    const published = counting.take("rekey-events");
    const toDlq = counting.take("rekey-events-dlq");
    said.push(...[...published, ...toDlq].map((e) => JSON.stringify(e)));
    dead.push(...toDlq);
    enqueue(published);
    queue = "rekey-events"; // what a DLQ batch publishes goes to the main queue
  }
  return { handled, dead };
}

const count = (xs: string[], type: string) => xs.filter((t) => t === type).length;

describe("a 1,000-token GitHub alert whose only managed token is past the inline part", () => {
  let chunkEvent: { id: string; data: Record<string, unknown> } & Record<string, unknown>;

  it("answers for the inline tokens, queues the rest sealed, and the chunk's consumer contains the key", async () => {
    expect(MANAGED_AT, "the managed token must be past the inline part").toBeGreaterThanOrEqual(INLINE_TOKENS);
    const { res, text, counts, events } = await postAlert();
    expect(res.status, text).toBe(200);
    // Feedback for the inline part only: the rest is not known yet (GitHub's feedback is optional per token).
    const feedback = JSON.parse(text) as { token_hash: string; label: string }[];
    expect(feedback).toHaveLength(INLINE_TOKENS);
    expect(feedback.every((f) => f.label === "false_positive")).toBe(true);
    expect(counts.subrequests, JSON.stringify(counts)).toBeLessThanOrEqual(50);

    const types = events.map(typeOf);
    expect(count(types, "credential.compromised")).toBe(0);
    const received = events.find((e) => typeOf(e) === "alert.received") as { data: Record<string, unknown> };
    // matched_count is the inline part's (the chunk's match is its own credential.compromised, below).
    expect(received.data).toMatchObject({ token_count: TOKENS, matched_count: 0 });
    const chunks = events.filter((e) => typeOf(e) === "github.tokens_deferred") as (typeof chunkEvent)[];
    // Chunks of INLINE_TOKENS after the inline part, the last one shorter.
    const rest = TOKENS - INLINE_TOKENS;
    const n = Math.ceil(rest / INLINE_TOKENS);
    expect(chunks.map((c) => [c.data.chunk, c.data.chunks, c.data.first, c.data.token_count])).toEqual(
      Array.from({ length: n }, (_, i) => [
        i + 1,
        n,
        INLINE_TOKENS * (i + 1),
        Math.min(INLINE_TOKENS, rest - i * INLINE_TOKENS),
      ]),
    );
    chunkEvent = chunks[0]!;
    // The chunks before `alert.received`, which comes last: a received alert had all its chunks queued.
    expect(types.at(-1)).toBe("alert.received");
    expect(types.indexOf("alert.received")).toBe(types.length - 1);

    const { handled, dead } = await drain(events);
    expect(dead).toEqual([]);
    expect(count(handled, "github.tokens_deferred")).toBe(n);
    expect(count(handled, "credential.compromised")).toBe(1);

    const cred = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
    expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
    const state = await tenant.state();
    expect(state.keys.some((k: any) => k.id === leakedKey), "the leaked key is still live").toBe(false);
    const fresh = state.keys.filter((k: any) => String(k.description).includes(cred.last_rotation.id));
    expect(fresh).toHaveLength(1);
    leaks.secrets.push(fresh[0].id);
  }, 120_000);

  it("a redelivered alert contains nothing twice", async () => {
    const before = await tenant.state();
    const deletesOf = (s: any) =>
      s.calls.filter((c: any) => c.method === "DELETE" && String(c.path).endsWith(`/keys/${leakedKey}`)).length;
    const lastRotation = async () =>
      (await call("GET", `/v1/credentials/${credentialId}`)).json.credential.last_rotation;
    const rotationBefore = await lastRotation();

    const { res, events } = await postAlert();
    expect(res.status).toBe(200);
    // The same chunks (same ids; a fresh IV, so other ciphertext).
    const ids = events.filter((e) => typeOf(e) === "github.tokens_deferred").map((e) => (e as { id: string }).id);
    expect(ids[0]).toBe(chunkEvent.id);
    const { handled, dead } = await drain(events);
    expect(dead).toEqual([]);
    // The chunks were handled already (the ledger), so they publish nothing: no new compromise.
    expect(count(handled, "credential.compromised")).toBe(0);
    expect(deletesOf(await tenant.state())).toBe(deletesOf(before));
    expect(await lastRotation()).toEqual(rotationBefore);
  }, 60_000);

  it("a tampered chunk (opened as other tokens) goes to the dead letters at once, not a retry loop", async () => {
    // A new event id (the original's is in the ledger), the positions changed: the AAD no longer matches.
    const id = `evt_${"t".repeat(10)}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const tampered = { ...chunkEvent, id, data: { ...chunkEvent.data, first: 400 } };
    const { handled, dead } = await drain([tampered]);
    expect(handled).toEqual(["github.tokens_deferred"]);
    expect(dead).toHaveLength(1);
    expect((dead[0] as { rekeyfailure?: string }).rekeyfailure).toBe("rotator:chunk_tampered");
    // The dead letter's consumer tells a human, by event id and failure code, never by content.
    const notice = await drain(dead, "rekey-events-dlq");
    expect(notice.handled).toContain("event.dead_lettered");
    const audit = (await call("GET", `/v1/audit?limit=1000`)).json;
    const entry = audit.entries.find((e: any) => e.type === "event.dead_lettered" && e.data.event_id === id);
    // Which alert, how many tokens were never matched: enough to find the alert and act.
    expect(entry?.data).toMatchObject({
      event_type: "github.tokens_deferred",
      error_code: "chunk_tampered",
      alert_id: chunkEvent.data.alert_id,
      token_count: chunkEvent.data.token_count,
    });
  }, 60_000);

  it(
    "a chunk whose retries ran out goes round again while its alert is young; an old one is a notice naming the alert",
    async () => {
      const freshId = () => `evt_${"r".repeat(10)}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      // As Queues delivers it to the dead letters after max_retries: the event itself, no failure.
      const young = { ...chunkEvent, id: freshId() };
      const round = await drain([young], "rekey-events-dlq");
      expect(round.handled).toEqual(["github.tokens_deferred", "github.tokens_deferred"]);
      expect(round.handled).not.toContain("event.dead_lettered");
      expect(round.dead).toEqual([]);
      // A second round, as after another outage: the copy dies again and is requeued again.
      const requeued = await drain([{ ...young, id: freshId() }], "rekey-events-dlq");
      expect(requeued.handled).toEqual(["github.tokens_deferred", "github.tokens_deferred"]);
      // However many rounds, the chunk is one entry of the audit trail (its first delivery's).
      const chunkEntries = (await call("GET", `/v1/audit?limit=1000`)).json.entries.filter((e: any) =>
        e.type === "github.tokens_deferred" && e.data.alert_id === chunkEvent.data.alert_id &&
        e.data.first === chunkEvent.data.first
      );
      expect(chunkEntries.map((e: any) => e.id)).toEqual([chunkEvent.id]);

      const old = { ...chunkEvent, id: freshId(), time: new Date(Date.now() - 2 * 3_600_000).toISOString() };
      const notice = await drain([old], "rekey-events-dlq");
      expect(notice.handled).toEqual(["github.tokens_deferred", "event.dead_lettered"]);
      const audit = (await call("GET", `/v1/audit?limit=1000`)).json;
      const entry = audit.entries.find((e: any) => e.type === "event.dead_lettered" && e.data.event_id === old.id);
      expect(entry?.data).toMatchObject({
        reason: "retries_exhausted",
        alert_id: chunkEvent.data.alert_id,
        token_count: chunkEvent.data.token_count,
      });
    },
    60_000,
  );

  it("a chunk sealed under a key version newer than the consumer's (a deploy rolling out) is retried, not dead", async () => {
    const id = `evt_${"v".repeat(10)}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const sealed = chunkEvent.data.sealed as Record<string, unknown>;
    const newer = { ...chunkEvent, id, data: { ...chunkEvent.data, sealed: { ...sealed, v: 999_999 } } };
    const batch = createMessageBatch("rekey-events", [{ id, timestamp: new Date(), attempts: 1, body: newer }]);
    const { result } = await invocation(counting, "queue:newer key", async (ctx) => {
      await worker.queue(batch, counting.env, ctx);
      return getQueueResult(batch, ctx);
    });
    expect(result.retryMessages).toHaveLength(1);
    expect(counting.take("rekey-events-dlq")).toEqual([]);
    said.push(...counting.take("rekey-events").map((e) => JSON.stringify(e)));
  });

  it("a chunk sealed under a newer key version that is still unknown once it is old (a rollback) dies at once, with its notice", async () => {
    const id = `evt_${"w".repeat(10)}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const sealed = chunkEvent.data.sealed as Record<string, unknown>;
    // Past the wait a deploy's rollout takes (deferred-tokens.ts NEWER_KEY_WAIT_MS, 15 minutes).
    const time = new Date(Date.now() - 30 * 60_000).toISOString();
    const rolledBack = { ...chunkEvent, id, time, data: { ...chunkEvent.data, sealed: { ...sealed, v: 999_999 } } };
    const { handled, dead } = await drain([rolledBack]);
    expect(handled).toEqual(["github.tokens_deferred"]);
    expect(dead).toHaveLength(1);
    expect((dead[0] as { rekeyfailure?: string }).rekeyfailure).toBe("rotator:chunk_unknown_key_version");
    // Permanent: a notice at once, not a requeue round.
    const notice = await drain(dead, "rekey-events-dlq");
    expect(notice.handled).toEqual(["github.tokens_deferred", "event.dead_lettered"]);
    const audit = (await call("GET", `/v1/audit?limit=1000`)).json;
    const entry = audit.entries.find((e: any) => e.type === "event.dead_lettered" && e.data.event_id === id);
    expect(entry?.data).toMatchObject({
      error_code: "chunk_unknown_key_version",
      alert_id: chunkEvent.data.alert_id,
      token_count: chunkEvent.data.token_count,
    });
  });

  it("keeps the chunks' counts in the audit trail, never their sealed tokens", async () => {
    const audit = (await call("GET", `/v1/audit?limit=1000`)).json;
    const entries = audit.entries.filter((e: any) => e.type === "github.tokens_deferred");
    expect(entries.length).toBeGreaterThanOrEqual(Math.ceil((TOKENS - INLINE_TOKENS) / INLINE_TOKENS));
    for (const e of entries) {
      expect(e.data.sealed).toBeUndefined();
      expect(e.data).toMatchObject({
        alert_source: "github",
        chunks: Math.ceil((TOKENS - INLINE_TOKENS) / INLINE_TOKENS),
      });
    }
  });
});

describe("a deferred chunk's first match", () => {
  it("is deleted at Clarifai inside the chunk's own consumer invocation, before any replay is handled", async () => {
    const AT = 650;
    const mgr = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential.manager_id;
    const { key, id } = await registerAppKey(tenant, {
      managerId: mgr,
      label: "split-fast",
      secrets: leaks.secrets,
      policy: { grace_hours: 24 },
    });
    const items = Array.from({ length: TOKENS }, (_, i) => ({
      token: `ghfast_${i}_${crypto.randomUUID().replaceAll("-", "")}`,
      type: "clarifai_api_key",
    }));
    items[AT]!.token = key.id;
    const text = JSON.stringify(items);
    const request = new Request("http://rekey.test/hooks/github/secret-scanning", {
      method: "POST",
      headers: await signedGithubAlert(text),
      body: text,
    });
    const posted = await invocation(
      counting,
      "request",
      async (ctx) => worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, counting.env, ctx),
    );
    expect(posted.result.status).toBe(200);
    said.push(await posted.result.text());
    const events = counting.take("rekey-events");
    said.push(...events.map((e) => JSON.stringify(e)));
    const chunk = events.find((e) => {
      const d = (e as { type: string; data: { first: number; token_count: number } }).data;
      return typeOf(e) === "github.tokens_deferred" && d.first <= AT && AT < d.first + d.token_count;
    })!;
    expect(chunk).toBeDefined();
    const live = async () => (await tenant.state()).keys.some((k: any) => k.id === key.id);
    expect(await live()).toBe(true);

    // The chunk's invocation alone: its credential.compromised is published, not yet handled.
    const batch = createMessageBatch("rekey-events", [{
      id: "chunk",
      timestamp: new Date(),
      attempts: 1,
      body: chunk,
    }]);
    const { result, counts } = await invocation(counting, "queue:chunk with a match", async (ctx) => {
      await worker.queue(batch, counting.env, ctx);
      return getQueueResult(batch, ctx);
    });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual(["chunk"]);
    console.log(`github split: a chunk's invocation with its fast path: ${JSON.stringify(counts)}`);
    expect(counts.subrequests, JSON.stringify(counts)).toBeLessThanOrEqual(50);
    const published = counting.take("rekey-events");
    said.push(...published.map((e) => JSON.stringify(e)));
    expect(published.filter((e) => typeOf(e) === "credential.compromised")).toHaveLength(1);
    expect(await live(), "the chunk's invocation left the leaked key live").toBe(false);
    // Contained and handed over at containment: the rotator's replay finishes it.
    const rotation = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(rotation.current_rotation_id).toEqual(expect.any(String));

    const { handled, dead } = await drain(published);
    expect(dead).toEqual([]);
    expect(count(handled, "credential.compromised")).toBe(1);
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
    const fresh = (await tenant.state()).keys.filter((k: any) => String(k.description).includes(cred.last_rotation.id));
    expect(fresh).toHaveLength(1);
    leaks.secrets.push(fresh[0].id);
  }, 120_000);
});

/** A minted, registered app key (under the first test's manager): the key and its credential id. */
async function managedKey(label: string) {
  const mgr = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential.manager_id;
  return registerAppKey(tenant, { managerId: mgr, label, secrets: leaks.secrets, policy: { grace_hours: 24 } });
}

/** A signed 1,000-token alert with `keys[i]` at position `at[i]`, posted through the counting env. */
async function postWith(keys: string[], at: number[], label: string) {
  const items = Array.from({ length: TOKENS }, (_, i) => ({
    token: `gh${label}_${i}_${crypto.randomUUID().replaceAll("-", "")}`,
    type: "clarifai_api_key",
  }));
  keys.forEach((k, i) => (items[at[i]!]!.token = k));
  const posted = await githubAlertInvocation(counting, `request:${label}`, JSON.stringify(items));
  const answer = await posted.result.text();
  said.push(answer);
  const events = counting.take("rekey-events");
  said.push(...events.map((e) => JSON.stringify(e)));
  const chunkOf = (pos: number) =>
    events.find((e) => {
      const d = (e as { data: { first: number; token_count: number } }).data;
      return typeOf(e) === "github.tokens_deferred" && d.first <= pos && pos < d.first + d.token_count;
    })!;
  return { res: posted.result, answer, events, chunkOf };
}

/**
 * The credential's Durable Object cell holding a record this version cannot parse (as after a
 * rollback past a schema change, or a corrupted write): every strongly consistent read of it
 * throws. Returns the restore, which puts the original cell back (the cell recovered).
 */
async function corruptCell(id: string): Promise<() => Promise<void>> {
  const stub = env.CREDENTIAL_CELLS.get(env.CREDENTIAL_CELLS.idFromName(id));
  const original = await runInDurableObject(stub, (_, state: DurableObjectState) => state.storage.get("credential"));
  expect(original).toBeDefined();
  await runInDurableObject(stub, async (_, state: DurableObjectState) => {
    const cell = original as { json: string; version: number };
    await state.storage.put("credential", { ...cell, json: `${cell.json.slice(0, 40)}"unparsable` });
  });
  return async () => {
    await runInDurableObject(stub, (_, state: DurableObjectState) => state.storage.put("credential", original));
  };
}

/** Runs `run` with console.error captured: the lines, parsed where they are JSON. */
async function errorsOf<T>(run: () => Promise<T>): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const raw: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => void raw.push(String(line)));
  try {
    const result = await run();
    said.push(...raw);
    return {
      result,
      lines: raw.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    };
  } finally {
    spy.mockRestore();
  }
}

describe("a first match whose record cannot be read (review R3 M1)", () => {
  const live = async (key: string) => (await tenant.state()).keys.some((k: any) => k.id === key);

  it(
    "in a chunk: drops the fast path for it, every match's event is still published, the rotator contains them",
    async () => {
      const { key: a, id: ida } = await managedKey("split-corrupt-a");
      const { key: b, id: idb } = await managedKey("split-corrupt-b");
      const { res, chunkOf } = await postWith([a.id, b.id], [610, 620], "corruptchunk");
      expect(res.status).toBe(200);
      const chunk = chunkOf(610);
      expect(chunkOf(620), "both keys in one chunk").toBe(chunk);

      const restore = await corruptCell(ida);
      const batch = createMessageBatch("rekey-events", [{
        id: "corrupt",
        timestamp: new Date(),
        attempts: 1,
        body: chunk,
      }]);
      const { result: { result }, lines } = await errorsOf(() =>
        invocation(counting, "queue:chunk, first record unreadable", async (ctx) => {
          await worker.queue(batch, counting.env, ctx);
          return getQueueResult(batch, ctx);
        })
      );
      // Handled, not retried: a chunk retried on one record would die after an hour of requeues.
      expect(result.retryMessages).toEqual([]);
      const published = counting.take("rekey-events");
      said.push(...published.map((e) => JSON.stringify(e)));
      const compromised = published.filter((e) => typeOf(e) === "credential.compromised") as {
        data: { credential_id: string };
      }[];
      expect(compromised.map((e) => e.data.credential_id).sort()).toEqual([ida, idb].sort());
      expect(lines.find((l) => l.msg === "github.fast_path_skipped")).toMatchObject({
        level: "warn",
        credential_id: ida,
        alert_id: expect.stringMatching(/^alrt_/),
      });
      // No fast path ran: both keys wait for the rotator.
      expect(await live(a.id)).toBe(true);

      await restore(); // the cell recovers; the rotator's replay (retried meanwhile) contains both
      const { dead } = await drain(published);
      expect(dead).toEqual([]);
      expect(await live(a.id), "the unreadable record's key is still live").toBe(false);
      expect(await live(b.id), "the chunk's other match is still live").toBe(false);
      for (const id of [ida, idb]) {
        const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
        expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
        const fresh = (await tenant.state()).keys.filter((k: any) =>
          String(k.description).includes(cred.last_rotation.id)
        );
        leaks.secrets.push(...fresh.map((k: any) => k.id));
      }
    },
    120_000,
  );

  it("in the request: still answers its feedback and publishes every match's event", async () => {
    const { key: a, id: ida } = await managedKey("inline-corrupt-a");
    const { key: b, id: idb } = await managedKey("inline-corrupt-b");
    const restore = await corruptCell(ida);
    const { result: posted, lines } = await errorsOf(() => postWith([a.id, b.id], [10, 20], "corruptinline"));
    await restore();
    expect(posted.res.status, posted.answer).toBe(200);
    const feedback = JSON.parse(posted.answer) as { label: string }[];
    expect(feedback).toHaveLength(INLINE_TOKENS);
    expect([feedback[10]!.label, feedback[20]!.label]).toEqual(["true_positive", "true_positive"]);
    const compromised = posted.events.filter((e) => typeOf(e) === "credential.compromised") as {
      data: { credential_id: string };
    }[];
    expect(compromised.map((e) => e.data.credential_id).sort()).toEqual([ida, idb].sort());
    expect(lines.find((l) => l.msg === "github.fast_path_skipped")).toMatchObject({ credential_id: ida });
    const { dead } = await drain(posted.events);
    expect(dead).toEqual([]);
    expect(await live(a.id)).toBe(false);
    expect(await live(b.id)).toBe(false);
    for (const id of [ida, idb]) {
      const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
      const fresh = (await tenant.state()).keys.filter((k: any) =>
        String(k.description).includes(cred.last_rotation.id)
      );
      leaks.secrets.push(...fresh.map((k: any) => k.id));
    }
  }, 120_000);
});

describe("a chunk whose events cannot be published (review R3 M2)", () => {
  it("deletes nothing at Clarifai: no DELETE without a durable event", async () => {
    const { key: k, id } = await managedKey("split-nopublish");
    const { res, chunkOf } = await postWith([k.id], [640], "nopublish");
    expect(res.status).toBe(200);
    const chunk = chunkOf(640);
    // The one place a queue is faked (as below): a real binding cannot be made to fail.
    let attempts = 0;
    const failing = {
      send: async () =>
        void (attempts++,
          (() => {
            throw new Error("queue unavailable");
          })()),
      sendBatch: async () =>
        void (attempts++,
          (() => {
            throw new Error("queue unavailable");
          })()),
    };
    const down = { ...(env as Env), EVENTS: failing as unknown as Queue } as Env;
    const batch = createMessageBatch("rekey-events", [{
      id: "nopub",
      timestamp: new Date(),
      attempts: 1,
      body: chunk,
    }]);
    const { result } = await errorsOf(async () => {
      const ctx = createExecutionContext();
      await worker.queue(batch, down, ctx);
      await waitOnExecutionContext(ctx);
      return getQueueResult(batch, ctx);
    });
    expect(attempts, "the chunk's invocation never tried to publish").toBeGreaterThan(0);
    expect(result.retryMessages).toHaveLength(1);
    const state = await tenant.state();
    expect(state.keys.some((x: any) => x.id === k.id), "deleted before its event was durable").toBe(true);
    expect(state.calls.filter((c: any) => c.method === "DELETE" && String(c.path).endsWith(`/keys/${k.id}`)))
      .toEqual([]);

    // The queue is back: the chunk's retry contains it.
    const { dead } = await drain([chunk]);
    expect(dead).toEqual([]);
    expect((await tenant.state()).keys.some((x: any) => x.id === k.id)).toBe(false);
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    const fresh = (await tenant.state()).keys.filter((x: any) => String(x.description).includes(cred.last_rotation.id));
    leaks.secrets.push(...fresh.map((x: any) => x.id));
  }, 120_000);
});

describe("an alert redelivered under another GITHUB_INLINE_TOKENS", () => {
  it("still reaches a managed token that only the second delivery's chunking holds", async () => {
    // The reviewer's probe: a key at 450; first delivery at 200 inline (chunk 400-599 lost),
    // redelivery at 300 inline (chunk 300-599). A chunk id from its index would make the second
    // delivery's chunk 1 look handled (the first's chunk 1, 200-399, was) and skip the key.
    const MANAGED = 450;
    const mgr = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential.manager_id;
    const { key } = await registerAppKey(tenant, {
      managerId: mgr,
      label: "split-redelivery",
      secrets: leaks.secrets,
      policy: { grace_hours: 24 },
    });
    const items = Array.from({ length: TOKENS }, (_, i) => ({
      token: `ghredeliver_${i}_${crypto.randomUUID().replaceAll("-", "")}`,
      type: "clarifai_api_key",
    }));
    items[MANAGED]!.token = key.id;
    const text = JSON.stringify(items);
    const deliver = async (inline: number) => {
      const c = countingEnv({ ...(env as Env), GITHUB_INLINE_TOKENS: String(inline) } as Env, {
        EVENTS: "rekey-events",
        EVENTS_DLQ: "rekey-events-dlq",
      });
      const { result } = await githubAlertInvocation(c, `delivery at ${inline}`, text);
      expect(result.status).toBe(200);
      said.push(await result.text());
      const events = c.take("rekey-events");
      said.push(...events.map((e) => JSON.stringify(e)));
      return events;
    };
    const first = await deliver(200);
    const chunks = first.filter((e) => typeOf(e) === "github.tokens_deferred");
    // The first delivery's second chunk (tokens 400-599, the key's) is lost; the others are handled.
    const lost = chunks[1]!;
    await drain(first.filter((e) => e !== lost));
    const live = async () => (await tenant.state()).keys.some((k: any) => k.id === key.id);
    expect(await live(), "nothing but the lost chunk held the key").toBe(true);

    const { handled, dead } = await drain(await deliver(300));
    expect(dead).toEqual([]);
    expect(count(handled, "credential.compromised")).toBe(1);
    expect(await live(), "the redelivery's chunking never reached the key").toBe(false);
  }, 120_000);
});

const longAlert = () =>
  JSON.stringify(Array.from({ length: INLINE_TOKENS + 100 }, (_, i) => ({
    token: `long_${i}_${"x".repeat(3_000)}`,
    type: "clarifai_api_key",
  })));

describe("a GitHub alert whose chunks' publish fails partway", () => {
  it("answers 5xx, queues no alert.received, and logs github.defer_failed with ids and counts only", async () => {
    // The one place a queue is faked: a real binding cannot be made to fail. The second sendBatch throws.
    const sent: unknown[] = [];
    let batches = 0;
    const failing = {
      send: async (body: unknown) => void sent.push(body),
      sendBatch: async (messages: Iterable<MessageSendRequest>) => {
        if (++batches === 2) throw new Error("queue unavailable");
        sent.push(...[...messages].map((m) => m.body));
      },
    };
    const text = longAlert();
    const errors: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    let res: Response;
    try {
      const ctx = createExecutionContext();
      const request = new Request("http://rekey.test/hooks/github/secret-scanning", {
        method: "POST",
        headers: await signedGithubAlert(text),
        body: text,
      });
      res = await worker.fetch(
        request as Request<unknown, IncomingRequestCfProperties>,
        { ...(env as Env), EVENTS: failing as unknown as Queue } as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
    } finally {
      spy.mockRestore();
    }
    const answer = await res.text();
    said.push(answer, ...errors, ...sent.map((e) => JSON.stringify(e)));
    expect(res.status, answer).toBeGreaterThanOrEqual(500);
    expect(sent.map(typeOf)).not.toContain("alert.received");
    const queued = sent.filter((e) => typeOf(e) === "github.tokens_deferred").length;
    expect(queued).toBeGreaterThan(0);
    const line = errors.map((l) => JSON.parse(l)).find((l) => l.msg === "github.defer_failed");
    expect(line).toMatchObject({ level: "error", alert_id: expect.stringMatching(/^alrt_/), published: queued });
    expect(line.chunks).toBeGreaterThan(queued);
    expect(JSON.stringify(line)).not.toContain("xxxx");
  });
});

describe("a GitHub alert of long tokens", () => {
  it("splits chunks further so that each sealed chunk fits one queue message (Deno KV: 64 KiB)", async () => {
    const text = longAlert();
    const { result: res } = await githubAlertInvocation(counting, "long tokens", text);
    expect(res.status, await res.clone().text()).toBe(200);
    said.push(await res.text());
    const chunks = counting.take("rekey-events").filter((e) => typeOf(e) === "github.tokens_deferred") as {
      data: { chunk: number; chunks: number; token_count: number };
    }[];
    // 100 tokens of 3 KB: 300 KB, more than 7 chunks of at most 40,000 bytes each.
    expect(chunks.length).toBeGreaterThan(7);
    expect(chunks.reduce((n, c) => n + c.data.token_count, 0)).toBe(100);
    expect(chunks.map((c) => c.data.chunk)).toEqual(chunks.map((_, i) => i + 1));
    for (const c of chunks) expect(JSON.stringify(c).length).toBeLessThan(60_000);
  });
});

afterAll(async () => {
  // Canary: no token (managed or not) in clear in any answer, event, log line or the audit trail.
  const audit = (await call("GET", "/v1/audit?limit=1000")).text;
  leaks.assertClean([audit, ...said]);
});
