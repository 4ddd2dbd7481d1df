/**
 * P5: CPU time of the dashboard's home page (GET /ui) with 1,000 credentials and 30 days of
 * history, beside GET /healthz (the floor: the same Worker answering with no storage), GET
 * /v1/summary and GET /ui/maintenance, measured with V8's sampling profiler (./lib/cpu-profile.ts)
 * against the Workers free plan's 10 ms CPU per invocation. The Worker is rekey's own
 * (bench/fixtures/p5-worker: src/worker.ts plus a seeding route) under `wrangler dev --local`.
 *
 * What the page reads is counted by test/workers/dashboard-reads.test.ts (3 KV operations and 1
 * Durable Object call); this measures what it costs in CPU.
 */
import { readFileSync } from "node:fs";
import { parseDotenv } from "../src/adapters/dotenv.ts";
import type { CredentialRecord } from "../src/core/credentials/credential.ts";
import { dayOf, type StatsFact } from "../src/core/summary/stats.ts";
import { CpuProfiler } from "./lib/cpu-profile.ts";
import { median, percentile, round } from "./lib/stats.ts";
import { root, startDevWorker } from "./lib/wrangler-dev.ts";

const DAY = 86_400_000;
/** Durable Object methods the page calls (Stats.days): their share of the CPU is reported apart. */
const DO_METHODS = ["days"] as const;

export interface P5Options {
  credentials: number;
  days: number;
  rotationsPerDay: number;
  containmentsPerDay: number;
  requests: number;
  warmup: number;
  log: (s: string) => void;
}

export const P5_FULL = {
  credentials: 1000,
  days: 30,
  rotationsPerDay: 20,
  containmentsPerDay: 2,
  requests: 40,
  warmup: 10,
};
export const P5_SHORT = {
  credentials: 1000,
  days: 30,
  rotationsPerDay: 5,
  containmentsPerDay: 1,
  requests: 15,
  warmup: 5,
};

interface RouteCpu {
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
  /** Of p50: the part spent in the Stats Durable Object's code (in its own invocation in production). */
  do_p50_ms: number;
}

export interface P5Result {
  credentials: number;
  history_days: number;
  history_facts: number;
  requests_per_route: number;
  sampler_period_us: number;
  ui: RouteCpu;
  summary: RouteCpu;
  maintenance: RouteCpu;
  floor: RouteCpu;
  /** GET /ui's second page: the same table of 50 credentials without the overview (the page as it was before it). */
  table: RouteCpu;
  /** `ui` minus `table` (p50): what the overview costs. */
  overview_p50_ms: number;
  html_bytes: number;
  /** Where each route's CPU goes: per request, the functions with the most self time. */
  top_functions: Record<string, Array<{ fn: string; ms: number }>>;
}

const sealed = (v: number) => ({
  v,
  aad: 2 as const,
  iv: "AAAAAAAAAAAAAAAA",
  ct: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
});

/** A registry like a real one: ages spread over 40 days, a few revoked, some old values in their grace period. */
function registry(n: number, now: number): CredentialRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const at = new Date(now - (i % 40) * DAY - i * 1000).toISOString();
    const id = `cred_p5${String(i).padStart(6, "0")}`;
    return {
      id,
      kind: "app_key",
      state: i % 50 === 0 ? "revoked" : "active",
      user_id: `user${i % 20}`,
      app_id: "app1",
      description: `workload key ${i}`,
      manager_id: "cred_p5manager",
      scopes: ["Predict"],
      apps: [{ id: "app1", user_id: `user${i % 20}` }],
      value: sealed(1),
      fingerprint: i.toString(16).padStart(64, "0"),
      value_created_at: at,
      previous: i % 10 === 1
        ? [{
          fingerprint: (i + n).toString(16).padStart(64, "0"),
          value: sealed(1),
          rotation_id: "rot_p5seeded",
          superseded_at: at,
          revoke_after: new Date(now + (i % 7) * DAY).toISOString(),
          revoke_attempts: 0,
        }]
        : [],
      policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
      sinks: [],
      created_at: at,
      updated_at: at,
      ...(i % 50 === 0 ? { revoked_at: at } : {}),
    } satisfies CredentialRecord;
  });
}

function history(o: P5Options, now: number, ids: string[]): StatsFact[][] {
  return Array.from({ length: o.days }, (_, d) => {
    const day = dayOf(now - d * DAY);
    return [
      ...Array.from({ length: o.rotationsPerDay }, (_, k): StatsFact => ({
        id: `rotation:rot_p5d${d}k${k}`,
        day,
        kind: "rotation",
        outcome: k % 10 === 9 ? "failed" : "done",
        reason: k % 7 === 3 ? "compromise" : k % 7 === 5 ? "manual" : "scheduled",
      })),
      ...Array.from({ length: o.containmentsPerDay }, (_, k): StatsFact => ({
        id: `contained:p5d${d}k${k}`,
        day,
        kind: "containment",
        at: now - d * DAY - k * 3_600_000,
        ms: 8 + ((d * 37 + k * 11) % 60),
        credentialId: ids[(d * 3 + k) % ids.length]!,
        rotationId: `rot_p5d${d}k${k}`,
      })),
    ];
  });
}

function cpu(windows: Array<{ label: string; cpu_ms: number; do_ms: number }>, label: string): RouteCpu {
  const mine = windows.filter((w) => w.label === label);
  const ms = mine.map((w) => w.cpu_ms);
  return {
    p50_ms: round(median(ms), 2),
    p95_ms: round(percentile(ms, 95), 2),
    max_ms: round(Math.max(...ms), 2),
    do_p50_ms: round(median(mine.map((w) => w.do_ms)), 2),
  };
}

export async function runP5(o: P5Options): Promise<P5Result> {
  const example = `${root}/.dev.vars.example`;
  const vars = parseDotenv(readFileSync(example, "utf8"));
  o.log(`P5: rekey's dashboard with ${o.credentials} credentials and ${o.days} days of history under wrangler dev...`);
  const worker = await startDevWorker({
    name: "p5-dashboard",
    config: process.env.P5_CONFIG ?? `${root}/bench/fixtures/p5-worker/wrangler.toml`,
    envFiles: [example],
  });
  try {
    const now = Date.now();
    const records = registry(o.credentials, now);
    // Seeding is idempotent (KV puts, facts counted once by id): a request the dev server dropped
    // while reloading ("restarted mid-request", seen on a loaded machine) is simply sent again.
    const seed = async (body: unknown) => {
      for (let attempt = 1;; attempt++) {
        const res = await fetch(`${worker.url}/__bench/seed`, { method: "POST", body: JSON.stringify(body) });
        if (res.ok) return void (await res.body?.cancel());
        const text = await res.text();
        if (res.status !== 503 || attempt === 3) throw new Error(`seeding answered ${res.status}: ${text}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    for (let i = 0; i < records.length; i += 100) await seed({ records: records.slice(i, i + 100) });
    const facts = history(o, now, records.map((r) => r.id));
    for (const day of facts) await seed({ facts: day });

    const signIn = await fetch(`${worker.url}/ui/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: vars.REKEY_ADMIN_TOKEN! }).toString(),
    });
    const cookie = /(__Host-rekey_session=[^;]*)/.exec(signIn.headers.get("set-cookie") ?? "")?.[1];
    if (!cookie) throw new Error(`sign-in answered ${signIn.status} without a session`);
    const routes: Record<string, RequestInit & { path: string }> = {
      ui: { path: "/ui", headers: { cookie } },
      summary: { path: "/v1/summary", headers: { authorization: `Bearer ${vars.REKEY_ADMIN_TOKEN}` } },
      maintenance: { path: "/ui/maintenance", headers: { cookie } },
      floor: { path: "/healthz" },
    };
    // The second page of the table: 50 credentials and no overview (the cursor from the first page's link).
    const first = await (await fetch(`${worker.url}/ui`, { headers: { cookie } })).text();
    const next = /href="(\/ui\?cursor=[^"]+)"/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    if (!next) throw new Error("the home page has no next page link");
    routes.table = { path: next, headers: { cookie } };
    let htmlBytes = 0;
    const get = async (label: string) => {
      const { path, ...init } = routes[label]!;
      const res = await fetch(`${worker.url}${path}`, init);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      if (label === "ui") htmlBytes = Buffer.byteLength(text);
      return text;
    };
    // Warm-up, unmeasured: the isolate compiles the paths once.
    for (let i = 0; i < o.warmup; i++) for (const label of Object.keys(routes)) await get(label);
    const ui = await get("ui");
    if (!ui.includes(`data-figure="credentials.active">${records.filter((r) => r.state === "active").length}<`)) {
      throw new Error("the home page does not show the seeded registry");
    }
    const profiler = await CpuProfiler.connect(worker.inspectorPort);
    await profiler.start();
    // Interleaved, so that load from elsewhere on the machine falls on every route alike.
    for (let i = 0; i < o.requests; i++) {
      for (const label of Object.keys(routes)) await profiler.measure(label, () => get(label));
    }
    const figures = await profiler.stop(DO_METHODS);
    const result: P5Result = {
      credentials: o.credentials,
      history_days: o.days,
      history_facts: facts.flat().length,
      requests_per_route: o.requests,
      sampler_period_us: round(figures.period_us, 1),
      ui: cpu(figures.windows, "ui"),
      summary: cpu(figures.windows, "summary"),
      maintenance: cpu(figures.windows, "maintenance"),
      floor: cpu(figures.windows, "floor"),
      table: cpu(figures.windows, "table"),
      overview_p50_ms: 0,
      html_bytes: htmlBytes,
      top_functions: figures.top,
    };
    result.overview_p50_ms = round(result.ui.p50_ms - result.table.p50_ms, 2);
    o.log(
      `P5: GET /ui p50 ${result.ui.p50_ms} ms / p95 ${result.ui.p95_ms} ms CPU (its table alone ${result.table.p50_ms} ms, floor ${result.floor.p50_ms} ms), sampler period ${result.sampler_period_us} µs`,
    );
    return result;
  } finally {
    await worker.stop();
  }
}
