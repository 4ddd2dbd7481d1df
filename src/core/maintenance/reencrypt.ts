/**
 * Moving sealed values to the newest key version (rotating rekey's own master key without
 * downtime). Records under an older version stay readable throughout because the keyring keeps
 * every version; this walks the registry page by page, rewraps what is not current, and returns a
 * cursor so an interrupted run resumes where it stopped. Each record is rewritten by
 * compare-and-swap, so a rotation racing the re-encrypt wins and the record is simply revisited.
 *
 * Retire an old key version only after a full pass reports `remaining: 0`.
 */
import { aadFor, type CredentialRecord } from "../credentials/credential.ts";
import { needsReencrypt, reencrypt, type Sealed } from "../crypto/envelope.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";

export interface ReencryptPage {
  scanned: number;
  rewritten: number;
  /** Records still under an old version after this page (e.g. failed to decrypt). */
  remaining: number;
  cursor?: string;
}

export async function reencryptPage(deps: EngineDeps, opts: { cursor?: string; limit: number }): Promise<ReencryptPage> {
  const page = await deps.store.listCredentials(opts);
  let rewritten = 0;
  let remaining = 0;
  for (const listed of page.items) {
    if (!recordNeedsReencrypt(deps, listed)) continue;
    let failed = false;
    for (let i = 0; i < 5; i++) {
      const cur = await deps.store.getCredential(listed.id);
      if (!cur || !recordNeedsReencrypt(deps, cur.value)) break;
      const next = await rewrap(deps, cur.value);
      if (!next) {
        failed = true;
        break;
      }
      if ((await deps.store.putCredential(next, cur.version)) !== null) {
        rewritten++;
        break;
      }
    }
    if (failed) remaining++;
  }
  return { scanned: page.items.length, rewritten, remaining, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

export function recordNeedsReencrypt(deps: EngineDeps, rec: CredentialRecord): boolean {
  return sealedValuesOf(rec).some((s) => needsReencrypt(deps.keyring, s));
}

function sealedValuesOf(rec: CredentialRecord): Sealed[] {
  return [
    rec.value,
    ...rec.previous.flatMap((p) => (p.value ? [p.value] : [])),
    ...(rec.current_rotation?.new_value ? [rec.current_rotation.new_value] : []),
  ];
}

async function rewrap(deps: EngineDeps, rec: CredentialRecord): Promise<CredentialRecord | null> {
  const aad = aadFor(rec);
  const one = async (s: Sealed) => {
    const r = await reencrypt(deps.keyring, s, aad);
    if (!r.ok) throw new Error(r.error.reason);
    return r.value;
  };
  try {
    return {
      ...rec,
      value: await one(rec.value),
      previous: await Promise.all(rec.previous.map(async (p) => (p.value ? { ...p, value: await one(p.value) } : p))),
      ...(rec.current_rotation
        ? {
            current_rotation: {
              ...rec.current_rotation,
              ...(rec.current_rotation.new_value ? { new_value: await one(rec.current_rotation.new_value) } : {}),
            },
          }
        : {}),
    };
  } catch {
    // Undecryptable (tampered, or its version was removed): leave it and count it as remaining.
    return null;
  }
}
