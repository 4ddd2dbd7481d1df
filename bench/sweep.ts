/**
 * P4: the cron sweep over a large registry, simulated through the real sweep code
 * (src/core/sweep) over the in-memory store, counting per invocation what the Workers
 * implementation would spend:
 *   - KV operations: a page listing is 1 list + 1 bulk get per 100 records (workers-store.ts);
 *   - subrequests: upstream fetches (Clarifai), Durable Object calls and queue sends.
 * One invocation = the cron tick, or one `sweep.batch` handler run. Rotations the sweep requests
 * run in the rotator's own invocations; one of each kind is measured separately below.
 *
 *   npx tsx bench/sweep.ts            100,000 credentials
 *   npx tsx bench/sweep.ts --short    10,000 (CI)
 * Prints the figures beside the free-plan limits and writes bench/out/sweep.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createEmulator } from "../emulator/src/index.ts";
import { createClarifaiClient } from "../src/core/clarifai/index.ts";
import type { EventBus } from "../src/core/bus/bus.ts";
import type { BusEvent } from "../src/core/bus/events.ts";
import { encrypt } from "../src/core/crypto/envelope.ts";
import { importFingerprintKey } from "../src/core/crypto/fingerprint.ts";
import { derivePurposeKey } from "../src/core/crypto/purpose-key.ts";
import { parseKeyring } from "../src/core/crypto/keyring.ts";
import { aadFor, CURRENT_VALUE, type CredentialRecord, previousValue } from "../src/core/credentials/credential.ts";
import type { EngineDeps } from "../src/core/rotation/engine-deps.ts";
import { MemoryStore } from "../src/core/store/memory-store.ts";
import type { Store } from "../src/core/store/store.ts";
import { processSweepBatch, startSweep } from "../src/core/sweep/run.ts";

const N = process.argv.includes("--short") ? 10_000 : 100_000;
// Free plan: 50 external subrequests (Clarifai) and 1,000 to Cloudflare services (DO, Queues) per
// invocation; the bench holds all subrequests together to the stricter 50.
const LIMITS = { subrequests: 50, kv_ops: 1000 };
const DAY = 86_400_000;

interface Counter { kv: number; doCalls: number; sends: number; upstream: number }
let c: Counter = { kv: 0, doCalls: 0, sends: 0, upstream: 0 };

function counting(store: Store): Store {
  return {
    getCredential: (id) => (c.doCalls++, store.getCredential(id)),
    putCredential: (r, e) => (c.doCalls += 2, store.putCredential(r, e)), // read-for-mirror + write
    deleteCredential: (id) => (c.doCalls++, store.deleteCredential(id)),
    listCredentials: async (o) => {
      const page = await store.listCredentials(o);
      c.kv += 1 + Math.ceil(page.items.length / 100);
      return page;
    },
    listIndex: (o) => (c.kv++, store.listIndex(o)),
    findCredentialByFingerprint: (fp) => (c.kv++, store.findCredentialByFingerprint(fp)),
    findCredentialsByFingerprints: (fps) => (c.kv += Math.ceil(new Set(fps).size / 100), store.findCredentialsByFingerprints(fps)),
    getRotation: (cid, rid) => (c.doCalls++, store.getRotation(cid, rid)),
    putRotation: (r, e) => (c.doCalls++, store.putRotation(r, e)),
    findRotation: (id) => (c.kv++, store.findRotation(id)),
    listRotations: (id) => (c.doCalls++, store.listRotations(id)),
  };
}

const keyring = parseKeyring('{"1":"YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU="}');
const fpKey = await importFingerprintKey("YmVuY2gtb25seS1maW5nZXJwcmludC1rZXktMzJieXQ=");
const confirmKey = await derivePurposeKey("YmVuY2gtb25seS1maW5nZXJwcmludC1rZXktMzJieXQ=", "chat_confirmation");
if (!keyring.ok || !fpKey.ok || !confirmKey.ok) throw new Error("bench keys");
const now = Date.parse("2026-06-01T00:00:00Z");
const emulator = createEmulator({ now: () => new Date(now) });
const seed = emulator.seed({ userId: "bench", appId: "app" });
const inner = new MemoryStore();
const sealed = await encrypt(keyring.value, "not-a-real-token", aadFor({ id: "x", kind: "app_key" }, CURRENT_VALUE));

// A realistic registry: 1% past max age, 0.5% with an owed revocation (fails upstream: the key is
// unknown to the emulator, so it is counted as an attempt), 0.1% expired, the rest idle.
console.log(`seeding ${N.toLocaleString()} credentials...`);
for (let i = 0; i < N; i++) {
  const id = `cred_${String(i).padStart(26, "0")}`;
  const t = new Date(now - 10 * DAY).toISOString();
  const rec: CredentialRecord = {
    id, kind: "app_key", state: "active", user_id: "bench", app_id: "app", description: "", manager_id: "cred_manager",
    scopes: ["Predict"], apps: [{ id: "app", user_id: "bench" }], value: sealed, fingerprint: i.toString(16).padStart(64, "0"),
    value_created_at: i % 100 === 0 ? new Date(now - 40 * DAY).toISOString() : t,
    previous: i % 200 === 1 ? [{ fingerprint: "e" + i.toString(16).padStart(63, "0"), value: await encrypt(keyring.value, `old-token-${i}`, aadFor({ id, kind: "app_key" }, previousValue("e" + i.toString(16).padStart(63, "0")))), rotation_id: "rot_x", superseded_at: t, revoke_after: t, revoke_attempts: 0 }] : [],
    policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none", ...(i % 1000 === 2 ? { expires_at: t } : {}) },
    sinks: [], created_at: t, updated_at: t,
  };
  await inner.putCredential(rec, null);
}
{
  const { manager_id: _, ...base } = (await inner.getCredential("cred_" + "0".repeat(26)))!.value;
  const value = await encrypt(keyring.value, seed.pat, aadFor({ id: "cred_manager", kind: "pat" }, CURRENT_VALUE));
  await inner.putCredential({ ...base, id: "cred_manager", kind: "pat", value, fingerprint: "d".repeat(64), previous: [], policy: { grace_hours: 24, on_compromise: "rotate", generator: "none" } }, null);
}

const queue: BusEvent[] = [];
const bus: EventBus = { publish: async (e) => void (c.sends++, queue.push(e)), publishAll: async (es) => void ((c.sends += Math.ceil(es.length / 100)), queue.push(...es)) };
const deps: EngineDeps = {
  store: counting(inner),
  clarifai: createClarifaiClient({ baseUrl: "http://clarifai.bench", fetch: (i, init) => (c.upstream++, emulator.fetch(i as RequestInfo, init)) }),
  keyring: keyring.value, fingerprintKey: fpKey.value, confirmationKey: confirmKey.value, now: () => now, sleep: async () => {},
  retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, leaseMs: 60_000, emit: async () => {},
};

const invocations: Array<Counter & { subrequests: number }> = [];
const record = () => {
  invocations.push({ ...c, subrequests: c.upstream + c.doCalls + c.sends });
  c = { kv: 0, doCalls: 0, sends: 0, upstream: 0 };
};
const started = performance.now();
await startSweep(bus, now);
record();
let requested = 0;
while (queue.length) {
  const e = queue.shift()!;
  if (e.type !== "sweep.batch") {
    if (e.type === "rotation.requested") requested++;
    continue;
  }
  await processSweepBatch(deps, bus, e.data);
  record();
}
const seconds = (performance.now() - started) / 1000;
const max = (k: keyof (typeof invocations)[number]) => Math.max(...invocations.map((i) => i[k]));
const sum = (k: keyof (typeof invocations)[number]) => invocations.reduce((a, i) => a + i[k], 0);
const result = {
  credentials: N,
  invocations: invocations.length,
  rotations_requested: requested,
  max_subrequests: max("subrequests"),
  max_upstream_subrequests: max("upstream"),
  max_kv_ops: max("kv"),
  total_subrequests: sum("subrequests"),
  total_kv_ops: sum("kv"),
  simulated_seconds: Number(seconds.toFixed(1)),
};
console.log(`
P4 sweep over ${N.toLocaleString()} credentials (${result.invocations.toLocaleString()} invocations, ${requested} rotations requested)
  max subrequests / invocation   ${result.max_subrequests}  (limit ${LIMITS.subrequests})  ${result.max_subrequests <= LIMITS.subrequests ? "ok" : "OVER"}
    of which upstream (Clarifai) ${result.max_upstream_subrequests}
  max KV operations / invocation ${result.max_kv_ops}  (limit ${LIMITS.kv_ops})  ${result.max_kv_ops <= LIMITS.kv_ops ? "ok" : "OVER"}
  total subrequests              ${result.total_subrequests.toLocaleString()}
  total KV operations            ${result.total_kv_ops.toLocaleString()}
  (simulation took ${result.simulated_seconds} s)`);
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/sweep.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
