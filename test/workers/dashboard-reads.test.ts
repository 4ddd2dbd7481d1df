/**
 * What the dashboard's home page reads, counted on the real bindings (test/support/counting-env.ts)
 * with 1,000 credentials and 30 days of history: a bounded number of storage operations, none of
 * them the audit trail, and the same whatever the length of the history.
 *
 * The 1,000 records are written into KV as the CredentialCell mirrors them (the record and its
 * index metadata), not through their Durable Objects, which locally costs ~13 ms each; nothing
 * here reads them through a Durable Object (the P4 benchmark seeds its idle records the same way).
 * The history goes through the real Stats Durable Object, 4 facts a day. Records written that way
 * never reached the registry aggregate the cells keep in the Stats object (src/adapters/workers-stats.ts),
 * as after deploying it over an existing registry: the first view lists the index once and seeds it.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { WorkersStats } from "../../src/adapters/workers-stats.ts";
import { kvKeys } from "../../src/adapters/workers-store.ts";
import { parseConfig } from "../../src/config.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { indexMetadata } from "../../src/core/store/index-metadata.ts";
import { dayOf } from "../../src/core/summary/stats.ts";
import { issueSession, uiKeys } from "../../src/ui/session.ts";
import worker, { type Env } from "../../src/worker.ts";
import { ADMIN_TOKEN } from "../support/api.ts";
import { countingEnv, type InvocationCounts } from "../support/counting-env.ts";
import { credentialRecord } from "../support/records.ts";

const CREDENTIALS = 1_000;
const DAYS = 30;
const ROTATIONS_A_DAY = 3;
const CONTAINMENTS_A_DAY = 1;
const DAY = 86_400_000;

const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
let cookie = "";
let seeding: { status: number; text: string; counts: InvocationCounts };

async function counted(label: string, path: string, headers: Record<string, string>) {
  counting.begin(label);
  try {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://rekey.test${path}`, { headers }) as Request<unknown, IncomingRequestCfProperties>,
      counting.env,
      ctx,
    );
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, text, counts: counting.end() };
  } catch (error) {
    counting.end();
    throw error;
  }
}

async function inBatches<T>(items: T[], width: number, run: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
}

beforeAll(async () => {
  const now = Date.now();
  const records: CredentialRecord[] = Array.from({ length: CREDENTIALS }, (_, i) =>
    credentialRecord({
      value_created_at: new Date(now - (i % 40) * DAY).toISOString(),
      value: { v: 2, aad: 2, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
      policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
      ...(i % 50 === 0 ? { state: "revoked" as const } : {}),
      ...(i % 10 === 1
        ? {
          previous: [{
            fingerprint: `${i}`.padStart(64, "0"),
            value: { v: 1, aad: 2, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
            rotation_id: "rot_seeded",
            superseded_at: new Date(now - DAY).toISOString(),
            revoke_after: new Date(now + (i % 7) * DAY).toISOString(),
            revoke_attempts: 0,
          }],
        }
        : {}),
    }));
  await inBatches(
    records,
    250,
    (r) => env.REKEY_KV.put(kvKeys.credential(r.id), JSON.stringify(r), { metadata: indexMetadata(r) }),
  );
  const stats = new WorkersStats(env.STATS);
  const facts = Array.from({ length: DAYS }, (_, d) => {
    const day = dayOf(now - d * DAY);
    return [
      ...Array.from({ length: ROTATIONS_A_DAY }, (_, k) => ({
        id: `rotation:rot_d${d}k${k}`,
        day,
        kind: "rotation" as const,
        outcome: k === 2 ? "failed" as const : "done" as const,
        reason: k === 1 ? "compromise" as const : "scheduled" as const,
      })),
      ...Array.from({ length: CONTAINMENTS_A_DAY }, (_, k) => ({
        id: `contained:d${d}k${k}`,
        day,
        kind: "containment" as const,
        at: now - d * DAY - k * 60_000,
        ms: 10 + ((d * 7 + k * 13) % 40),
        credentialId: records[d]!.id,
        rotationId: `rot_d${d}k${k}`,
      })),
    ];
  }).flat();
  await inBatches(facts, 25, (f) => stats.record(f));
  const keys = await uiKeys(parseConfig(env as unknown as Record<string, unknown>));
  cookie = `__Host-rekey_session=${await issueSession(keys, Date.now())}`;
  seeding = await counted("GET /ui, seeding", "/ui", { cookie });
}, 120_000);

describe("the home page with 1,000 credentials and 30 days of history", () => {
  let page: { status: number; text: string; counts: InvocationCounts };

  it("seeds the registry aggregate on the first view: 3 KV operations and 2 Durable Object calls", () => {
    expect(seeding.status).toBe(200);
    // The table's page of 25 (one list, one bulk get), the registry index (one list of 1,000
    // entries' metadata), the Stats object's call (unseeded aggregate, 30 day buckets), the seed.
    expect(seeding.counts).toMatchObject({ kv_ops: 3, do_calls: 2, queue_sends: 0, fetches: 0 });
    expect(seeding.text).toContain('data-figure="credentials.active">980<');
  });

  it("reads 2 KV operations and 1 Durable Object call, and nothing of the audit trail", async () => {
    page = await counted("GET /ui", "/ui", { cookie });
    expect(page.status).toBe(200);
    console.log(JSON.stringify({ dashboard_reads: page.counts }));
    // The table's page of 25 (one list, one bulk get), and the registry's figures with the 30 day
    // buckets from the Stats Durable Object in one call: no listing of the index.
    expect(page.counts).toMatchObject({ kv_ops: 2, do_calls: 1, queue_sends: 0, fetches: 0 });
    expect(page.text).toContain('data-figure="credentials.active">980<');
    // The same page as the seeding view's (the figures and the table), but for its time-stamped parts.
    const timeless = (t: string) => t.replace(/nonce="[^"]+"|value="[^"]+"|\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, "");
    expect(timeless(page.text)).toBe(timeless(seeding.text));
    expect(page.text).toContain(`${DAYS * ROTATIONS_A_DAY} rotations from`);
    expect((page.text.match(/<circle /g) ?? []).length).toBe(DAYS * CONTAINMENTS_A_DAY);
  });

  it("shows 25 credentials a page, in id order, and the next page the next 25 without the overview", async () => {
    // 25 a page, not 50: the page's CPU (bench P5 `ui_credentials_1000`, src/ui/routes.ts).
    const rowIds = (text: string) => [...text.matchAll(/<tr data-credential="([^"]+)">/g)].map((m) => m[1]!);
    const first = rowIds(page.text);
    expect(first).toHaveLength(25);
    expect([...first].sort()).toEqual(first);
    const next = /href="\/ui\?cursor=([^"]+)"/.exec(page.text)?.[1];
    expect(next).toBeDefined();
    const second = await counted("GET /ui, page 2", `/ui?cursor=${next}`, { cookie });
    expect(second.status).toBe(200);
    // Its page of 25 only (one list, one bulk get): the overview heads the first page.
    expect(second.counts).toMatchObject({ kv_ops: 2, do_calls: 0 });
    expect(second.text).not.toContain("data-figure=");
    const ids = rowIds(second.text);
    expect(ids).toHaveLength(25);
    expect(ids[0]! > first.at(-1)!).toBe(true);
  });

  it("reads as much with twice the history: the cost does not grow with the audit trail or the events", async () => {
    const stats = new WorkersStats(env.STATS);
    const today = dayOf(Date.now());
    await inBatches(
      Array.from({ length: 60 }, (_, k) => k),
      25,
      (k) => stats.record({ id: `rotation:more${k}`, day: today, kind: "rotation", outcome: "done", reason: "manual" }),
    );
    const again = await counted("GET /ui, more history", "/ui", { cookie });
    expect(again.counts).toEqual({ ...page.counts, label: "GET /ui, more history" });
    expect(again.text).toContain(`${DAYS * ROTATIONS_A_DAY + 60} rotations from`);
  });

  it("GET /v1/summary reads the aggregates only: no KV operation and 1 Durable Object call", async () => {
    const res = await counted("GET /v1/summary", "/v1/summary", { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.counts).toMatchObject({ kv_ops: 0, do_calls: 1, queue_sends: 0, fetches: 0 });
    const s = JSON.parse(res.text);
    expect(s.credentials).toMatchObject({ total: CREDENTIALS, active: 980, revoked: 20 });
    expect(s.last_30_days.containment.count).toBe(DAYS * CONTAINMENTS_A_DAY);
    expect(s.coverage).toEqual({ credentials: CREDENTIALS, partial: false, not_summarised: 0 });
  });
});
