/**
 * The sweep, fanned out through the bus so no invocation walks the registry with upstream calls:
 * - the cron tick publishes one `sweep.batch` for the first index page (startSweep);
 * - each batch handler lists one page of the registry index (1,000 ids and their next-action times
 *   in one KV operation), reads only the records that are due, acts on at most `batch_size` of
 *   them, and publishes the next batch (the same page with a larger offset, or the next page).
 *   A sweep where nothing is due therefore reads no record at all.
 * Rotations and revocations are not run in the batch: it publishes `rotation.requested`, which the
 * rotator handles in its own invocation, and `orphan.scan` for a credential whose rotation lost a
 * create's outcome (./orphan-scan.ts). Owed revocations (one delete each) are paid in the batch;
 * the batch size bounds the subrequests of one invocation. Nothing else calls Clarifai: a sweep
 * with nothing due makes no upstream call at all.
 */
import { SWEEP_ACTOR } from "../audit/actor.ts";
import type { EventBus } from "../bus/bus.ts";
import type { BusEvent } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import type { CredentialRecord } from "../credentials/credential.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { payOwedRevocations } from "../rotation/owed-revocations.ts";
import { dueActions, runningRotation } from "./rules.ts";
import { firstScanPage } from "./orphan-scan.ts";
import { firstGithubScan } from "../github/backstop.ts";

/**
 * Due credentials handled per batch. Each costs about 3 Durable Object calls (one more for a
 * running rotation, whose record is read for its lease), a queue send and, when a revocation is
 * owed, one Clarifai call: 10 keeps a batch under 50 subrequests in all, the free plan's external
 * limit, although only the Clarifai calls count against it.
 */
const SWEEP_BATCH_SIZE = 10;
/** Index entries listed per batch: one KV list operation. */
const INDEX_PAGE = 1000;

/** `githubScopes`: how many GITHUB_ALERT_SCOPES entries the GitHub backstop lists (core/github/backstop.ts). */
export async function startSweep(bus: EventBus, now: number, opts: { githubScopes?: number } = {}): Promise<string> {
  // One sweep per cron minute: a redelivered tick is the same sweep.
  const id = `swp_${Math.floor(now / 60_000).toString(36)}`;
  const first = newEvent("sweep.batch", { sweep_id: id, cursor: null, batch_size: SWEEP_BATCH_SIZE }, {
    source: "/rekey/cron",
    id: await deriveId("evt", "sweep-page", id, ""),
    now,
  });
  const github = await firstGithubScan(id, opts.githubScopes ?? 0, now);
  if (github.length) await bus.publishAll([first, ...github]);
  else await bus.publish(first);
  return id;
}

export async function processSweepBatch(
  engine: EngineServices,
  bus: EventBus,
  batch: { sweep_id: string; cursor: string | null; batch_size: number; after?: string | undefined },
): Promise<{ requested: number; revoked: number; overdue: number; scans: number; next?: string }> {
  const now = engine.now();
  const index = await engine.store.listIndex({ limit: INDEX_PAGE, ...(batch.cursor ? { cursor: batch.cursor } : {}) });
  // Unknown next-action times (records written before the index) are read and checked: safe.
  const dueIds = index.items.filter((e) =>
    e.next_action_at === undefined || (e.next_action_at !== null && e.next_action_at <= now)
  ).map((e) => e.id);
  const pending = batch.after ? dueIds.filter((id) => id > batch.after!) : dueIds;
  const mine = pending.slice(0, batch.batch_size);
  const page = {
    items: (await Promise.all(mine.map((id) => engine.store.getCredential(id)))).flatMap((v) => (v ? [v.value] : [])),
  };
  let requested = 0;
  let revoked = 0;
  let overdue = 0;
  let scans = 0;
  // Sent together at the end: one queue operation per 100 events instead of one each.
  const out: BusEvent[] = [];
  for (const rec of page.items) {
    const due = dueActions(rec, now, await runningRotation(engine.store, rec));
    for (const a of due) {
      if (a.action === "revoke_previous") continue; // paid below, once per credential
      if (a.action === "warn_expiring") {
        out.push(await expiringEvent(rec, now));
        continue;
      }
      if (a.action === "scan_orphans") {
        // Its own invocations, one page of keys each (./orphan-scan.ts).
        const first = firstScanPage(rec.id, batch.sweep_id);
        out.push(
          newEvent("orphan.scan", first, {
            source: "/rekey/cron",
            subject: `credential/${rec.id}`,
            id: await deriveId("evt", "orphan-scan", batch.sweep_id, rec.id, "0"),
            now,
          }),
        );
        scans++;
        continue;
      }
      const reason = a.rule === "expired" ? "expiry" : "scheduled";
      const mode = a.action === "revoke" ? "revoke" : "rotate";
      const data = {
        credential_id: rec.id,
        reason,
        mode,
        requested_by: SWEEP_ACTOR,
        actor: SWEEP_ACTOR,
        ...(a.action === "resume" && rec.current_rotation ? { rotation_id: rec.current_rotation.id } : {}),
      } as const;
      out.push(
        newEvent("rotation.requested", data, {
          source: "/rekey/cron",
          subject: `credential/${rec.id}`,
          id: await deriveId("evt", "sweep-req", batch.sweep_id, rec.id, a.rule),
          now,
        }),
      );
      requested++;
    }
    if (due.some((a) => a.action === "revoke_previous")) {
      const paid = await payOwedRevocations(engine, rec.id);
      revoked += paid.revoked.length;
      for (const f of paid.failed.filter((x) => x.overdue)) {
        const prev = rec.previous.find((p) => p.fingerprint === f.fingerprint)!;
        out.push(
          newEvent("revocation.overdue", {
            credential_id: rec.id,
            fingerprint_prefix: fingerprintPrefix(f.fingerprint),
            rotation_id: prev.rotation_id,
            revoke_after: prev.revoke_after,
            attempts: prev.revoke_attempts + 1,
            last_error_code: f.code,
          }, {
            source: "/rekey/cron",
            subject: `credential/${rec.id}`,
            id: await deriveId("evt", "overdue", batch.sweep_id, rec.id, f.fingerprint),
            now,
          }),
        );
        overdue++;
      }
    }
  }
  const moreHere = pending.length > mine.length;
  const next = moreHere ? { cursor: batch.cursor, after: mine.at(-1) } : index.cursor ? { cursor: index.cursor } : null;
  if (next) {
    out.push(
      newEvent("sweep.batch", {
        sweep_id: batch.sweep_id,
        cursor: next.cursor,
        batch_size: batch.batch_size,
        ...(next.after ? { after: next.after } : {}),
      }, {
        source: "/rekey/cron",
        id: await deriveId("evt", "sweep-page", batch.sweep_id, next.cursor ?? "", next.after ?? ""),
        now,
      }),
    );
  }
  if (out.length) await bus.publishAll(out);
  return { requested, revoked, overdue, scans, ...(index.cursor ? { next: index.cursor } : {}) };
}

const DAY = 86_400_000;

/** `credential.expiring`: one per key per day (the id repeats within a day, so later ones are duplicates). */
async function expiringEvent(rec: CredentialRecord, now: number): Promise<BusEvent> {
  const last = rec.last_rotation;
  const data = {
    credential_id: rec.id,
    fingerprint_prefix: fingerprintPrefix(rec.fingerprint),
    expires_at: rec.key_expires_at!,
    ...(last ? { last_rotation_id: last.id, last_rotation_state: last.state } : {}),
  };
  return newEvent("credential.expiring", data, {
    source: "/rekey/cron",
    subject: `credential/${rec.id}`,
    id: await deriveId("evt", "expiring", rec.id, rec.fingerprint, String(Math.floor(now / DAY))),
    now,
  });
}
