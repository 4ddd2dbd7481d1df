/**
 * Kill the real stack mid-call and check that what it was doing converges with no operator
 * action (issue 16): the emulator holds a rotation's create or propagate call open (a `delay_ms`
 * fault on that one endpoint), every process of rekey is SIGKILLed while the call is held, rekey
 * is started again on the same persisted state, and from then on the test only reads and fires
 * the sweep, at most every 20 s, as a cron would. Within 2 minutes of the restart each rotation
 * must be done (or rolled back cleanly), with exactly one live managed key at the emulator, held
 * by the credential and its sink, no orphan, and the old value revoked (grace_hours 0: due at once).
 *
 * The held call is served when its delay ends, after the kill: Clarifai's side commits and only
 * its answer is lost, the hardest case for create (the resumed rotation must adopt that key, or
 * the orphan scan must delete it). The lease is shortened (REKEY_ROTATION_LEASE_SECONDS) to
 * outlast the delay, so the first sweep after the lease runs out finds the held create committed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprintWith } from "../support/fingerprint.ts";
import { devVars, type EmulatorProcess, type Group, type Runtime, sleep, startEmulator } from "./stack.ts";

/** How long the emulator holds the call: the kill lands well inside it. */
const HOLD_MS = 3_000;
/** The rotation lease for the test: longer than the hold, so a resumed create sees what the held one made. */
const LEASE_SECONDS = 5;
/** The bounds: converged within 2 minutes of the restart, the sweep fired at most every 20 s. */
const CONVERGE_WITHIN_MS = 120_000;
const SWEEP_EVERY_MS = 20_000;

export type HeldStep = "create" | "propagate";

export interface KillOptions {
  /** Kill, restart, converge: this many times on the same persisted state. */
  cycles: number;
  /** The step each credential of a cycle is held at; one credential per entry, all rotating at once. */
  held: HeldStep[];
}

export interface CycleReport {
  runtime: string;
  cycle: number;
  held: HeldStep[];
  /** From the kill until the restarted rekey answered /healthz. */
  restart_ms: number;
  /** From the restart until every rotation of the cycle had converged. */
  converged_ms: number;
  sweeps: number;
  outcomes: string[];
}

interface Tenant {
  userId: string;
  pat: string;
  secretId: string;
  oldKey: string;
  credentialId: string;
  held: HeldStep;
  rotationId?: string;
}

export async function killMidCallAndConverge(
  makeRuntime: (opts: { dir: string; vars: Record<string, string> }) => Promise<Runtime>,
  opts: KillOptions,
): Promise<CycleReport[]> {
  const dir = mkdtempSync(join(tmpdir(), "rekey-kill-"));
  const groups: Group[] = [];
  let emu: EmulatorProcess | undefined;
  try {
    emu = await startEmulator();
    groups.push(emu.group);
    const rt = await makeRuntime({
      dir,
      vars: { CLARIFAI_API_BASE: emu.url, REKEY_ROTATION_LEASE_SECONDS: String(LEASE_SECONDS) },
    });
    let rekey = await rt.start();
    groups.push(rekey);
    const reports: CycleReport[] = [];
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      const c = new Client(rt.url, emu.url);
      const tenants: Tenant[] = [];
      for (const [i, held] of opts.held.entries()) tenants.push(await c.tenant(`k${cycle}t${i}`, held));

      // Hold each rotation's call on its own endpoint, start the rotations, and wait until every
      // held call is at the emulator.
      for (const t of tenants) {
        await c.emulator("POST", "/_emulator/faults", {
          method: t.held === "create" ? "POST" : "PATCH",
          path: t.held === "create" ? `/v2/users/${t.userId}/keys` : `/v2/users/${t.userId}/secrets`,
          count: 1,
          delay_ms: HOLD_MS,
        });
        t.rotationId = (await c.api("POST", `/v1/credentials/${t.credentialId}/rotate`, {})).rotation.id;
      }
      await until(() => c.heldCount(tenants).then((n) => n === tenants.length), 30_000, "every call held");

      const killedAt = Date.now();
      await rekey.kill("SIGKILL");
      groups.splice(groups.indexOf(rekey), 1);
      // Mid-call: the emulator still holds every call the dead Worker made.
      const heldAfterKill = await c.heldCount(tenants);
      if (heldAfterKill !== tenants.length) {
        throw new Error(`${rt.name}: the kill took ${Date.now() - killedAt} ms, past the ${HOLD_MS} ms hold`);
      }

      rekey = await rt.start();
      groups.push(rekey);
      const restartedAt = Date.now();
      // From here on: reads, and the sweep now and then. No operator action.
      const leaseOut = killedAt + LEASE_SECONDS * 1000 + 250;
      let lastSweep = -Infinity;
      let sweeps = 0;
      let why: string[] = [];
      for (;;) {
        why = (await Promise.all(tenants.map((t) => c.notConverged(t)))).filter((w): w is string => w !== null);
        if (why.length === 0) break;
        const now = Date.now();
        if (now - restartedAt > CONVERGE_WITHIN_MS) {
          throw new Error(
            `${rt.name}: not converged ${CONVERGE_WITHIN_MS / 1000} s after the restart (${sweeps} sweeps): ${
              why.join("; ")
            }\n${rekey.log.slice(-3000)}`,
          );
        }
        // Not before the dead driver's lease has run out: that sweep would rightly leave it alone.
        if (now >= leaseOut && now - lastSweep >= SWEEP_EVERY_MS) {
          lastSweep = now;
          sweeps++;
          await c.sweep();
        }
        await sleep(250);
      }
      const report: CycleReport = {
        runtime: rt.name,
        cycle,
        held: opts.held,
        restart_ms: restartedAt - killedAt,
        converged_ms: Date.now() - restartedAt,
        sweeps,
        outcomes: await Promise.all(tenants.map((t) => c.outcome(t))),
      };
      console.log(JSON.stringify({ msg: "kill-test", ...report }));
      reports.push(report);
    }
    return reports;
  } finally {
    // Every process group, whatever failed: nothing may outlive the test.
    for (const g of groups.reverse()) await g.kill("SIGKILL").catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function until(ok: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

const MARKER = /\[rekey:[^\]]*\]/;

class Client {
  constructor(readonly rekey: string, readonly emu: string) {}

  async api(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.rekey}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${devVars.REKEY_ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json.error)}`);
    return json;
  }

  async emulator(method: string, path: string, body?: unknown, pat?: string): Promise<any> {
    const res = await fetch(`${this.emu}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(pat ? { authorization: `Key ${pat}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`emulator ${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }

  /** The cron, as `wrangler dev --test-scheduled` and `deno task start` serve it. */
  async sweep() {
    const res = await fetch(`${this.rekey}/__scheduled`);
    await res.text();
    if (!res.ok) throw new Error(`GET /__scheduled answered ${res.status}`);
  }

  /** A Clarifai user of its own: manager PAT, an app key whose value lives in a secret, both managed. */
  async tenant(userId: string, held: HeldStep): Promise<Tenant> {
    await this.emulator("POST", "/_emulator/users", { id: userId });
    await this.emulator("POST", `/_emulator/users/${userId}/apps`, { id: "app" });
    const mint = async (type: string, scopes: string[], description: string) =>
      (await this.emulator("POST", `/_emulator/users/${userId}/keys`, {
        type,
        scopes,
        description,
        apps: type === "app_specific_key" ? [{ id: "app", user_id: userId }] : [],
      })).key.id as string;
    const pat = await mint("personal_access_token", ["All"], "manager");
    const oldKey = await mint("app_specific_key", ["Predict"], "workload");
    const secretId = "WORKLOAD_KEY";
    await this.emulator("POST", `/v2/users/${userId}/secrets`, { secrets: [{ id: secretId, value: oldKey }] }, pat);
    const manager = await this.api("POST", "/v1/credentials", { kind: "pat", user_id: userId, value: pat });
    const reg = await this.api("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: userId,
      value: oldKey,
      manager_id: manager.credential.id,
      description: "workload",
      policy: { grace_hours: 0 },
      sinks: [{ type: "clarifai_secret", user_id: userId, secret_id: secretId }],
    });
    return { userId, pat, secretId, oldKey, credentialId: reg.credential.id, held };
  }

  async heldCount(tenants: Tenant[]): Promise<number> {
    const { held } = await this.emulator("GET", "/_emulator/faults");
    return tenants.filter((t) => held.some((h: any) => String(h.path).startsWith(`/v2/users/${t.userId}/`))).length;
  }

  /** Why this tenant's rotation has not converged yet, or null once it has. */
  async notConverged(t: Tenant): Promise<string | null> {
    const who = `${t.userId} (held at ${t.held})`;
    let cred: any;
    try {
      cred = (await this.api("GET", `/v1/credentials/${t.credentialId}`)).credential;
    } catch (error) {
      return `${who}: ${(error as Error).message}`;
    }
    if (cred.current_rotation_id) return `${who}: rotation ${cred.current_rotation_id} still running`;
    if (cred.last_rotation?.id !== t.rotationId) return `${who}: last rotation ${JSON.stringify(cred.last_rotation)}`;
    const state = await this.emulator("GET", "/_emulator/state");
    const keys = state.keys.filter((k: any) => k.user_id === t.userId);
    const appKeys = keys.filter((k: any) => k.type === "app_specific_key");
    const secret = state.secrets.find((s: any) => s.user_id === t.userId && s.id === t.secretId);
    const fp = async (value: string) => (await fingerprintWith(devVars.REKEY_FINGERPRINT_KEY!, value)).slice(0, 8);
    if (cred.last_rotation.state === "failed") {
      // Rolled back cleanly: the old value is the one live key, everywhere, and nothing it minted is left.
      if (appKeys.length !== 1 || appKeys[0].id !== t.oldKey) return `${who}: rolled back, ${appKeys.length} app keys`;
      if (cred.fingerprint !== (await fp(t.oldKey))) return `${who}: rolled back but holds another value`;
      if (secret?.value !== t.oldKey) return `${who}: rolled back but the sink holds another value`;
      if (keys.some((k: any) => MARKER.test(k.description))) return `${who}: rolled back, a minted key is left`;
      return null;
    }
    if (appKeys.length !== 1) return `${who}: ${appKeys.length} live app keys at Clarifai (orphans or the old key)`;
    const live = appKeys[0];
    if (live.id === t.oldKey) return `${who}: the old key is still the only one`;
    if (!String(live.description).includes(`[rekey:${t.rotationId}]`)) {
      return `${who}: the live key is not this rotation's`;
    }
    if (cred.fingerprint !== (await fp(live.id))) return `${who}: the credential does not hold the live key`;
    if (secret?.value !== live.id) return `${who}: the sink does not hold the live key`;
    if (keys.some((k: any) => k.id !== live.id && MARKER.test(k.description))) return `${who}: an orphan is left`;
    const old = cred.previous.find((p: any) => p.rotation_id === t.rotationId);
    if (!old?.revoked_at) return `${who}: the old value is not recorded as revoked`;
    return null;
  }

  async outcome(t: Tenant): Promise<string> {
    const cred = (await this.api("GET", `/v1/credentials/${t.credentialId}`)).credential;
    return `${t.held}:${cred.last_rotation.state}`;
  }
}
