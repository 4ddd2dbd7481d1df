/**
 * Moving sealed values to a new key version (rotating rekey's own master key without downtime).
 * Records under an older version stay readable throughout because the keyring keeps every
 * version; this walks the registry page by page, rewraps what is not under the target version,
 * and returns a cursor so an interrupted run resumes where it stopped. Each record is rewritten by
 * compare-and-swap, so a rotation racing the re-encryption wins and the record is retried.
 *
 * What is sealed: a credential's value, its superseded values and a running rotation's intent
 * (all in the credential record), and a running rotation's new value and chat reply targets (in
 * the rotation record). A rotation that promotes its new value after this page passed it rewraps
 * it itself (rotation/values.ts `currentSealed`), so nothing can come back under the old version.
 *
 * `remaining` counts every record this page could not bring to the target: it would not open
 * (tampered, or its version is gone), or it kept changing. Retire an old key version only after
 * a full pass reports `remaining: 0`.
 */
import { aadFor, CURRENT_VALUE, type CredentialRecord, intentNewValue, previousValue, rotationNewValue } from "../credentials/credential.ts";
import { needsReencrypt, reencrypt, type Sealed, type SealedAad } from "../crypto/envelope.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { replyAad } from "../chatops/reply.ts";

export interface ReencryptPage {
  scanned: number;
  rewritten: number;
  /** Records still not at the target version after this page. */
  remaining: number;
  cursor?: string;
}

const MAX_CAS_TRIES = 5;

/**
 * @param target the version every value must end under: the keyring's newest. A caller whose
 *   keyring is older than the job's target must not run the page (see ./reencrypt-job.ts).
 */
export async function reencryptPage(deps: EngineDeps, opts: { cursor?: string; limit: number; target?: number }): Promise<ReencryptPage> {
  const target = opts.target ?? deps.keyring.currentVersion;
  if (target !== deps.keyring.currentVersion) throw new Error(`Cannot re-encrypt to version ${target}: this keyring seals under ${deps.keyring.currentVersion}`);
  const page = await deps.store.listCredentials({ limit: opts.limit, ...(opts.cursor ? { cursor: opts.cursor } : {}) });
  let rewritten = 0;
  let remaining = 0;
  for (const listed of page.items) {
    // The listing may lag; the strongly consistent read decides.
    const credential = await moveCredential(deps, listed.id, target);
    const rotation = await moveRotation(deps, listed.id, target);
    if (credential === "failed" || rotation === "failed") remaining++;
    else if (credential === "moved" || rotation === "moved") rewritten++;
  }
  return { scanned: page.items.length, rewritten, remaining, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

type Move = "moved" | "current" | "failed";

// Behind: under another version, or sealed before the field was bound (the job finishes an upgrade).
const behind = (target: number, values: Sealed[]) => values.some((s) => s.v !== target || s.aad === undefined);

function credentialValues(rec: CredentialRecord): Sealed[] {
  return [
    rec.value,
    ...rec.previous.flatMap((p) => (p.value ? [p.value] : [])),
    ...(rec.current_rotation?.new_value ? [rec.current_rotation.new_value] : []),
  ];
}

function rotationValues(r: Rotation): Sealed[] {
  return [...(r.new_value ? [r.new_value] : []), ...(r.replies ?? [])];
}

/** True if any sealed value of the record is not under the keyring's newest version. */
export function recordNeedsReencrypt(deps: { keyring: Keyring }, rec: CredentialRecord): boolean {
  return behind(deps.keyring.currentVersion, credentialValues(rec));
}

async function moveCredential(deps: EngineDeps, id: string, target: number): Promise<Move> {
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const cur = await deps.store.getCredential(id);
    if (!cur || !behind(target, credentialValues(cur.value))) return i === 0 ? "current" : "moved";
    const next = await rewrapCredential(deps.keyring, cur.value);
    if (!next) return "failed";
    if ((await deps.store.putCredential(next, cur.version)) !== null) return "moved";
  }
  // Still changing after every try: counted as remaining, never silently skipped.
  return "failed";
}

async function moveRotation(deps: EngineDeps, credentialId: string, target: number): Promise<Move> {
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const rec = (await deps.store.getCredential(credentialId))?.value;
    const rotationId = rec?.current_rotation?.id;
    const cur = rotationId ? await deps.store.getRotation(credentialId, rotationId) : null;
    if (!cur || cur.value.state !== "running" || !behind(target, rotationValues(cur.value))) return i === 0 ? "current" : "moved";
    const next = await rewrapRotation(deps.keyring, rec!, cur.value);
    if (!next) return "failed";
    // A driver holding the lease loses its next compare-and-swap and re-reads: it repeats one
    // idempotent step, which is the price of never stopping a rotation for maintenance.
    if ((await deps.store.putRotation(next, cur.version)) !== null) return "moved";
  }
  return "failed";
}

async function rewrapCredential(keyring: Keyring, rec: CredentialRecord): Promise<CredentialRecord | null> {
  const at = (field: Parameters<typeof aadFor>[1]) => rewrapper(keyring, aadFor(rec, field));
  try {
    const intent = rec.current_rotation;
    return {
      ...rec,
      value: await at(CURRENT_VALUE)(rec.value),
      previous: await Promise.all(rec.previous.map(async (p) => (p.value ? { ...p, value: await at(previousValue(p.fingerprint))(p.value) } : p))),
      ...(intent ? { current_rotation: { ...intent, ...(intent.new_value ? { new_value: await at(intentNewValue(intent.id))(intent.new_value) } : {}) } } : {}),
    };
  } catch {
    // Undecryptable (tampered, or its version was removed): leave it and count it as remaining.
    return null;
  }
}

async function rewrapRotation(keyring: Keyring, rec: CredentialRecord, r: Rotation): Promise<Rotation | null> {
  const value = rewrapper(keyring, aadFor(rec, rotationNewValue(r.id)));
  const reply = rewrapper(keyring, replyAad(r.id));
  try {
    return {
      ...r,
      ...(r.new_value ? { new_value: await value(r.new_value) } : {}),
      ...(r.replies ? { replies: await Promise.all(r.replies.map(reply)) } : {}),
    };
  } catch {
    return null;
  }
}

function rewrapper(keyring: Keyring, aad: SealedAad) {
  return async (s: Sealed) => {
    if (!needsReencrypt(keyring, s)) return s;
    const r = await reencrypt(keyring, s, aad);
    if (!r.ok) throw new Error(r.error.reason);
    return r.value;
  };
}
