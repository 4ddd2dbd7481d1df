/**
 * The pull path: a consumer Worker reads a credential's current value over a service binding
 * (RekeyCredentials in src/worker.ts), instead of waiting for a push to a sink. What it may read,
 * for how long it may keep it, and the trail its reads leave.
 *
 * Who may read (trade-off, made here). The consumer is named by its binding's `props.consumer`,
 * which only the account's own Worker configuration can set: a Worker can neither choose nor forge
 * the props of a binding it was given. So props prove "a Worker this account deployed with that
 * binding", not which code runs in it: anyone who can deploy a Worker to the account can bind it
 * with any props, and anyone who can change a listed consumer's code can read what it may. The
 * credential's `consumers` list is what limits the damage: a value is served only to the names an
 * admin listed for it, and every first read of a value by a consumer is audited
 * (`credential.read`), so who has fetched which value is answerable after the fact.
 *
 * How long it may keep it (`refresh_after`). Never past the current value's planned replacement
 * (max age, hard expiry, the key's own expiry), at most MAX_CACHE_MS, and seconds while a
 * compromise (or a revocation) runs, so a consumer moves to the replacement within seconds of its
 * promotion. A consumer that cached a value whose revocation came early anyway (a leak) gets it
 * refused upstream; the helper in clients/worker/ then reads again once.
 *
 * Reads come from the credential's Durable Object (the Store's strongly consistent read), never KV:
 * right after a promotion KV may still hold the old record for up to a minute.
 *
 * Runtime-neutral.
 */
import type { EventBus } from "../bus/bus.ts";
import { consumerNameSchema, credentialIdSchema } from "../bus/fields.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import { iso } from "../time.ts";
import { err, ok, type Result } from "../result.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { updateCredential } from "../rotation/update-credential.ts";
import { open } from "../rotation/values.ts";
import { replacementDueAt } from "../sweep/rules.ts";
import { type CredentialRecord, CURRENT_VALUE } from "./credential.ts";
import type { ConsumerReads } from "./reads.ts";

/** The longest a consumer may cache a value, whatever its policy. */
export const MAX_CACHE_MS = 5 * 60_000;
/** While a compromise or a revocation runs: the value is about to die. */
const URGENT_CACHE_MS = 5_000;
/** The shortest cache: a value whose replacement is due now, or overdue. */
const MIN_CACHE_MS = 1_000;
/** While a routine rotation runs, or one is due: the replacement is on its way. */
const ROTATING_CACHE_MS = 30_000;

export interface CurrentCredential {
  /** The current value: for a key or PAT, the token itself. */
  value: string;
  fingerprint_prefix: string;
  /** When the current value was made (promoted, or registered). */
  rotated_at: string;
  /** Read again after this; never cache the value longer. */
  refresh_after: string;
}

type ReadRefusalCode =
  | "consumer_required"
  | "credential_not_found"
  | "consumer_not_allowed"
  | "credential_revoked"
  | "value_leaked"
  | "value_unavailable";

export interface ReadRefusal {
  code: ReadRefusalCode;
  message: string;
}

export interface ReadDeps {
  engine: () => Promise<EngineServices>;
  reads: ConsumerReads;
  bus: EventBus;
  now: () => number;
}

const refuse = (code: ReadRefusalCode, message: string) => err<ReadRefusal>({ code, message });

export async function readCurrent(
  deps: ReadDeps,
  credentialId: unknown,
  consumer: unknown,
): Promise<Result<CurrentCredential, ReadRefusal>> {
  const who = consumerNameSchema.safeParse(consumer);
  if (!who.success) {
    return refuse("consumer_required", 'The service binding must name its consumer: props = { consumer = "<name>" }');
  }
  const id = credentialIdSchema.safeParse(credentialId);
  if (!id.success) return refuse("credential_not_found", "No such credential");
  const engine = await deps.engine();
  const found = await engine.store.getCredential(id.data);
  if (!found) return refuse("credential_not_found", "No such credential");
  const rec = found.value;
  if (!rec.consumers.includes(who.data)) {
    return refuse("consumer_not_allowed", `Consumer "${who.data}" is not listed in the credential's consumers`);
  }
  // A revocation under way counts as done: its value is dead or about to be (the record says
  // `revoked` only once the revocation's rotation settles, a moment after Clarifai's delete).
  if (rec.state === "revoked" || rec.current_rotation?.mode === "revoke") {
    return refuse("credential_revoked", "The credential is revoked: it has no value");
  }
  // A leaked current value whose delete Clarifai refused (a compromise rotation that could not
  // finish) is owed a revocation that every sweep retries: it is dead as far as rekey is concerned,
  // and handing it out would undo the containment. Availability loses to containment here, as in
  // core/rotation/containment.ts: the consumer fails until a replacement exists.
  if (rec.previous.some((p) => p.leaked && p.fingerprint === rec.fingerprint && !p.revoked_at)) {
    return refuse("value_leaked", "The current value leaked and its revocation is owed: it is not served");
  }
  let value: string;
  try {
    value = await open(engine, rec, CURRENT_VALUE, rec.value);
  } catch {
    return refuse("value_unavailable", "The current value cannot be opened (its master-key version is gone)");
  }
  const now = deps.now();
  if (await noteRead(deps, rec, who.data, now)) await maybeEndGrace(deps, engine, rec, now);
  return ok({
    value,
    fingerprint_prefix: fingerprintPrefix(rec.fingerprint),
    rotated_at: rec.value_created_at,
    refresh_after: iso(refreshAfter(rec, now)),
  });
}

/** How long the current value of `rec` may be cached from `now` (see the module comment). */
export function refreshAfter(rec: CredentialRecord, now: number): number {
  const running = rec.current_rotation;
  if (running) {
    const urgent = running.reason === "compromise" || running.mode === "revoke";
    return now + (urgent ? URGENT_CACHE_MS : ROTATING_CACHE_MS);
  }
  const due = replacementDueAt(rec);
  // Never past the planned replacement (or the key's expiry); when that is already here, a second,
  // so a consumer asks again rather than keeping a value that is about to go.
  if (due !== null && due <= now + ROTATING_CACHE_MS) return Math.max(due, now + MIN_CACHE_MS);
  return Math.min(now + MAX_CACHE_MS, due ?? Infinity);
}

/**
 * Records the read; true when it is this consumer's first read of this value. The audit event
 * goes out before the read is recorded and its id derives from (credential, consumer, value): a
 * lost recording means a repeat of the same event, which every handler drops as a duplicate,
 * never a first read without its entry.
 */
async function noteRead(deps: ReadDeps, rec: CredentialRecord, consumer: string, now: number): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    const last = await deps.reads.last(rec.id, consumer);
    if (last?.read.fingerprint === rec.fingerprint) return false;
    if (i === 0) {
      await deps.bus.publish(
        newEvent("credential.read", {
          credential_id: rec.id,
          consumer,
          fingerprint_prefix: fingerprintPrefix(rec.fingerprint),
        }, {
          source: "/rekey/binding",
          subject: `credential/${rec.id}`,
          id: await deriveId("evt", "credential.read", rec.id, consumer, rec.fingerprint),
          now,
        }),
      );
    }
    const read = { consumer, fingerprint: rec.fingerprint, read_at: iso(now) };
    if (await deps.reads.record(rec.id, read, last?.version ?? null)) return true;
  }
  return false;
}

/**
 * policy.revoke_when_consumers_moved: once every listed consumer has read the current value, the
 * values it superseded are not needed by anyone and their grace period ends. Not at once, but
 * MAX_CACHE_MS from now: a consumer counts as moved when any one of its isolates has read, and the
 * others may hold the old value until their `refresh_after`, which is never further away than that.
 * The sweep's owed-revocation rule then pays it, at its first tick after that time (its
 * `credential.revoked` says `consumers_moved`, actor `sweep`).
 */
async function maybeEndGrace(deps: ReadDeps, engine: EngineServices, rec: CredentialRecord, now: number) {
  if (!rec.policy.revoke_when_consumers_moved || rec.consumers.length === 0) return;
  if (!rec.previous.some((p) => endable(p, now))) return;
  const reads = new Map((await deps.reads.list(rec.id)).map((r) => [r.consumer, r.fingerprint]));
  if (!rec.consumers.every((c) => reads.get(c) === rec.fingerprint)) return;
  const endAt = iso(now + MAX_CACHE_MS);
  const moved = iso(now);
  await updateCredential(engine, rec.id, (c) => {
    if (c.fingerprint !== rec.fingerprint || !c.previous.some((p) => endable(p, now))) return c;
    return {
      ...c,
      previous: c.previous.map((p) => (endable(p, now) ? { ...p, revoke_after: endAt, consumers_moved_at: moved } : p)),
      updated_at: moved,
    };
  });
}

/** A superseded value still waiting out a grace period longer than the consumers need. */
const endable = (p: CredentialRecord["previous"][number], now: number) =>
  !!p.value && !p.revoked_at && !p.leaked && !p.consumers_moved_at && Date.parse(p.revoke_after) > now + MAX_CACHE_MS;
