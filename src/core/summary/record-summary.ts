/**
 * What the dashboard needs to know of one credential, small enough to ride beside its id in the
 * registry index (KV key metadata on Workers, limited to 1 KiB; the `cred-next` entry on Deno) and
 * written with every write of the record. The home page, GET /v1/summary and the maintenance page
 * count these from one index listing (1,000 credentials per KV operation) without reading a single
 * record, and they agree with the sweep because the schedule comes from its own rules
 * (core/sweep/rules.ts `scheduledActions`).
 *
 * Kept in its stored form, one-letter keys and times in ms (about 80 bytes for a typical
 * credential, at most about 700 with MAX_OWED owed values), and counted in that form: a page
 * reads a thousand of these per listing, and turning each into a friendlier object first cost
 * more CPU than counting them.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Sealed } from "../crypto/envelope.ts";
import { scheduledActions } from "../sweep/rules.ts";

export type RecordSummary = {
  s: "active" | "revoked";
  /** FLAGS, or'ed; absent: none. */
  f?: number;
  /** When the max-age rotation falls due (ms), if the rules schedule one. */
  r?: number;
  /** When the hard expiry revokes it (ms), if scheduled. */
  x?: number;
  /** Superseded values still owed a revocation: [when the sweep acts, grace end, leaked 1 / 0]. */
  g?: Array<[number, number, 0 | 1]>;
  /** The key versions of the record's sealed values, ascending (REKEY_ENCRYPTION_KEYS). */
  k: number[];
  /** A sealed value from before fields were bound into the AAD (the re-encryption job upgrades it). */
  l?: 1;
};

export const FLAGS = {
  /** A rotation is running. */
  rotating: 1,
  /** The last rotation failed and none is running. */
  lastFailed: 2,
  /** A leaked value (current or superseded) whose delete Clarifai has not confirmed. */
  leakedLive: 4,
  needsManager: 8,
} as const;

/** Owed values kept in the index per credential: past that (never seen in practice) the rest are not charted. */
const MAX_OWED = 16;

export function recordSummary(rec: CredentialRecord): RecordSummary {
  const schedule = scheduledActions(rec);
  const sealed: Sealed[] = [rec.value, ...rec.previous.flatMap((p) => (p.value ? [p.value] : []))];
  if (rec.current_rotation?.new_value) sealed.push(rec.current_rotation.new_value);
  const f = (rec.current_rotation ? FLAGS.rotating : 0) |
    (!rec.current_rotation && rec.last_rotation?.state === "failed" ? FLAGS.lastFailed : 0) |
    (rec.previous.some((p) => p.leaked === true && !p.revoked_at) ? FLAGS.leakedLive : 0) |
    (rec.needs_manager ? FLAGS.needsManager : 0);
  const r = schedule.find((a) => a.rule === "max_age")?.at;
  const x = schedule.find((a) => a.rule === "expired")?.at;
  const g = schedule.flatMap((a) =>
    a.rule === "grace_expired" ? [[a.at, a.revokeAfter, a.leaked ? 1 : 0] as [number, number, 0 | 1]] : []
  ).slice(0, MAX_OWED);
  return {
    s: rec.state,
    ...(f ? { f } : {}),
    ...(r !== undefined ? { r } : {}),
    ...(x !== undefined ? { x } : {}),
    ...(g.length ? { g } : {}),
    k: [...new Set(sealed.map((v) => v.v))].sort((a, b) => a - b),
    ...(sealed.some((v) => v.aad === undefined) ? { l: 1 as const } : {}),
  };
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const optNum = (v: unknown) => v === undefined || isNum(v);

/**
 * Whether index metadata carries a well-formed summary (an entry written before the summary
 * existed has none). Checked by hand, allocating nothing: a page checks a thousand per listing.
 */
export function isRecordSummary(meta: unknown): meta is RecordSummary {
  if (typeof meta !== "object" || meta === null) return false;
  const m = meta as Record<string, unknown>;
  if ((m.s !== "active" && m.s !== "revoked") || !Array.isArray(m.k) || !optNum(m.f) || !optNum(m.r)) return false;
  if (!optNum(m.x) || (m.l !== undefined && m.l !== 1)) return false;
  for (const v of m.k) if (!isNum(v)) return false;
  if (m.g === undefined) return true;
  if (!Array.isArray(m.g)) return false;
  for (const g of m.g) {
    if (!Array.isArray(g) || !isNum(g[0]) || !isNum(g[1]) || (g[2] !== 0 && g[2] !== 1)) return false;
  }
  return true;
}
