/**
 * Matching a leaked value to a managed credential, by fingerprint only: rekey never compares or
 * stores plaintext. The value is fingerprinted (HMAC-SHA256 under REKEY_FINGERPRINT_KEY) and
 * looked up in the index of current and previous fingerprints.
 */
import type { FingerprintHit, Versioned } from "../store/store.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { open } from "../rotation/values.ts";
import { type CredentialRecord, CURRENT_VALUE } from "../credentials/credential.ts";

export type LeakMatch =
  | { kind: "none" }
  /**
   * The credential's current value leaked: contain it (rotate or revoke per policy). `manager`:
   * the record of the manager it names, read beside it (`matchFingerprint`), for the early DELETE.
   */
  | {
    kind: "current";
    credential: CredentialRecord;
    fingerprint: string;
    manager?: Promise<Versioned<CredentialRecord> | null>;
    /**
     * The manager's token, opened as soon as its record answered (not once the credential's has
     * too), when the index said the value is current; null when that record cannot give it (the
     * early DELETE then reads the manager itself, `managerToken`).
     */
    token?: Promise<string | null>;
    /**
     * The leaked value itself, when the alert carried it: its fingerprint is the record's current
     * one, so it is the value the record seals, and the early DELETE names it (an app key's id is
     * its value) without decrypting the record's copy. Never logged or put in an event.
     */
    leaked?: string;
    /** The record read with its version, when the match read it: the rotation's begin starts from it. */
    read?: Versioned<CredentialRecord>;
  }
  /** A superseded value still in its grace period leaked: revoke that value now. */
  | { kind: "previous"; credential: CredentialRecord; fingerprint: string }
  /** The value is already dead (revoked earlier): nothing to do, and no new alert. */
  | { kind: "already_revoked"; credential: CredentialRecord; fingerprint: string };

/**
 * Called once the fingerprint index says the value is its credential's current one (a hint that
 * may lag, Workers KV), before the strongly consistent record read that decides: the alert
 * pipeline starts its durable event there, beside that read (./pipeline.ts `reportNamedLeak`).
 */
export type IndexSaysCurrent = (credentialId: string, fp: string) => void;

export async function matchLeakedValue(
  engine: EngineServices,
  value: string,
  indexSaysCurrent?: IndexSaysCurrent,
): Promise<LeakMatch> {
  const m = await matchFingerprint(engine, await fingerprint(engine.fingerprintKey, value), indexSaysCurrent);
  return m.kind === "current" ? { ...m, leaked: value } : m;
}

/**
 * An alert that names the leaked value by exactly one of credential id, fingerprint or the value.
 * Named by id, the record read (strongly consistent) is the match; otherwise the fingerprint index.
 */
export async function matchNamed(
  engine: EngineServices,
  named: { credential_id?: string; fingerprint?: string; value?: string },
  indexSaysCurrent?: IndexSaysCurrent,
): Promise<LeakMatch> {
  if (named.credential_id) {
    const found = await engine.store.getCredential(named.credential_id);
    return found ? withRead(matchRecord(found.value, found.value.fingerprint), found) : { kind: "none" };
  }
  return named.fingerprint
    ? matchFingerprint(engine, named.fingerprint, indexSaysCurrent)
    : matchLeakedValue(engine, named.value!, indexSaysCurrent);
}

export async function matchFingerprint(
  engine: EngineServices,
  fp: string,
  indexSaysCurrent?: IndexSaysCurrent,
): Promise<LeakMatch> {
  const store = engine.store;
  const hit: FingerprintHit | null = store.findFingerprintWithManager
    ? await store.findFingerprintWithManager(fp)
    : await store.findCredentialByFingerprint(fp).then((id) => (id ? { credentialId: id } : null));
  if (!hit) return { kind: "none" };
  if (hit.current) indexSaysCurrent?.(hit.credentialId, fp);
  // Contain first: the manager's record (its token, for the early DELETE) is read beside the
  // credential's rather than after it. The index's manager id is only a hint, used when the record
  // read (strongly consistent) names the same manager; otherwise the token is read from the
  // manager the record names, one round trip later.
  const manager = hit.managerId ? store.getCredential(hit.managerId) : undefined;
  manager?.catch(() => undefined); // unused or failed: the early DELETE reads the manager itself
  // Its token is opened once the manager's record answers, so the decrypt is not left until both
  // records have (the DELETE needs it the moment the credential's record and the event are in).
  // Only when the index says the value is current, a DELETE likely; unused otherwise.
  const token = manager && hit.current ? openManager(engine, manager, hit.managerId!) : undefined;
  // The index may lag (KV); the record read is strongly consistent and decides.
  const found = await store.getCredential(hit.credentialId);
  if (!found) return { kind: "none" };
  const m = withRead(matchRecord(found.value, fp), found);
  return m.kind === "current" && manager && found.value.manager_id === hit.managerId
    ? { ...m, manager, ...(token ? { token } : {}) }
    : m;
}

/**
 * The token of manager `id` once its record answers: its current value, opened as `managerToken`
 * opens it, or null (missing, not active, not that record, unreadable or not decrypting), for the
 * caller to read the manager again and fail as before.
 */
function openManager(
  engine: EngineServices,
  read: Promise<Versioned<CredentialRecord> | null>,
  id: string,
): Promise<string | null> {
  return read.then((m) =>
    m && m.value.id === id && m.value.state === "active" ? open(engine, m.value, CURRENT_VALUE, m.value.value) : null
  ).catch(() => null);
}

const withRead = (m: LeakMatch, read: Versioned<CredentialRecord>): LeakMatch =>
  m.kind === "current" ? { ...m, read } : m;

/** How a fingerprint relates to a record already read (strongly consistent): current, previous, dead or none. */
export function matchRecord(rec: CredentialRecord, fp: string): LeakMatch {
  if (rec.fingerprint === fp) {
    return rec.state === "revoked"
      ? { kind: "already_revoked", credential: rec, fingerprint: fp }
      : { kind: "current", credential: rec, fingerprint: fp };
  }
  const prev = rec.previous.find((p) => p.fingerprint === fp);
  if (!prev) return { kind: "none" };
  return prev.revoked_at || !prev.value
    ? { kind: "already_revoked", credential: rec, fingerprint: fp }
    : { kind: "previous", credential: rec, fingerprint: fp };
}

/**
 * An event names the leaked value by its fingerprint prefix (`credential.compromised`): the
 * record's current or previous value starting with it, judged as `matchRecord` judges a full one.
 */
export function matchPrefix(rec: CredentialRecord, prefix: string): LeakMatch {
  const fp = rec.fingerprint.startsWith(prefix)
    ? rec.fingerprint
    : rec.previous.find((p) => p.fingerprint.startsWith(prefix))?.fingerprint;
  return fp ? matchRecord(rec, fp) : { kind: "none" };
}
