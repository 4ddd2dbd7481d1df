/**
 * What the dashboard needs to know of one credential, small enough to ride beside its id in the
 * registry index (KV key metadata on Workers, limited to 1 KiB; the `cred-next` entry on Deno) and
 * written with every write of the record. The home page, GET /v1/summary and the maintenance page
 * count these from one index listing (1,000 credentials per KV operation) without reading a single
 * record, and they agree with the sweep because the schedule comes from its own rules
 * (core/sweep/rules.ts `scheduledActions`).
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Sealed } from "../crypto/envelope.ts";
import { scheduledActions } from "../sweep/rules.ts";

export interface RecordSummary {
  state: "active" | "revoked";
  /** A rotation is running. */
  rotating: boolean;
  /** The last rotation failed and none is running. */
  lastFailed: boolean;
  /** A leaked value (current or superseded) whose delete Clarifai has not confirmed. */
  leakedLive: boolean;
  needsManager: boolean;
  /** When the max-age rotation falls due (ms), if the rules schedule one. */
  rotateAt?: number;
  /** When the hard expiry revokes it (ms), if scheduled. */
  expireAt?: number;
  /** Superseded values still owed a revocation: when the sweep acts, the grace end, leaked or not. */
  owed: Array<{ at: number; revokeAfter: number; leaked: boolean }>;
  /** The key versions of the record's sealed values, ascending (REKEY_ENCRYPTION_KEYS). */
  keyVersions: number[];
  /** A sealed value from before fields were bound into the AAD (the re-encryption job upgrades it). */
  legacySeal: boolean;
}

/** Owed values kept in the index per credential: past that (never seen in practice) the rest are not charted. */
const MAX_OWED = 16;

const FLAG_ROTATING = 1;
const FLAG_LAST_FAILED = 2;
const FLAG_LEAKED_LIVE = 4;
const FLAG_NEEDS_MANAGER = 8;

export function recordSummary(rec: CredentialRecord): RecordSummary {
  const schedule = scheduledActions(rec);
  const sealed: Sealed[] = [rec.value, ...rec.previous.flatMap((p) => (p.value ? [p.value] : []))];
  if (rec.current_rotation?.new_value) sealed.push(rec.current_rotation.new_value);
  const rotateAt = schedule.find((a) => a.rule === "max_age")?.at;
  const expireAt = schedule.find((a) => a.rule === "expired")?.at;
  const owed = schedule.flatMap((a) =>
    a.rule === "grace_expired" ? [{ at: a.at, revokeAfter: a.revokeAfter, leaked: a.leaked }] : []
  );
  return {
    state: rec.state,
    rotating: rec.current_rotation !== undefined,
    lastFailed: !rec.current_rotation && rec.last_rotation?.state === "failed",
    leakedLive: rec.previous.some((p) => p.leaked === true && !p.revoked_at),
    needsManager: rec.needs_manager !== undefined,
    ...(rotateAt !== undefined ? { rotateAt } : {}),
    ...(expireAt !== undefined ? { expireAt } : {}),
    owed: owed.slice(0, MAX_OWED),
    keyVersions: [...new Set(sealed.map((v) => v.v))].sort((a, b) => a - b),
    legacySeal: sealed.some((v) => v.aad === undefined),
  };
}

/**
 * The summary as index metadata: one-letter keys, times in ms, so that it fits KV's 1 KiB beside
 * the sweep's fields (`n`, `a`) with room to spare (about 80 bytes for a typical credential, at most
 * about 700 with MAX_OWED owed values).
 */
export type SummaryMetadata = {
  s: "active" | "revoked";
  f?: number;
  r?: number;
  x?: number;
  /** [when the sweep acts, grace end, leaked 1 / 0] per owed value. */
  g?: Array<[number, number, 0 | 1]>;
  k: number[];
  l?: 1;
};

export function encodeSummary(s: RecordSummary): SummaryMetadata {
  const f = (s.rotating ? FLAG_ROTATING : 0) | (s.lastFailed ? FLAG_LAST_FAILED : 0) |
    (s.leakedLive ? FLAG_LEAKED_LIVE : 0) | (s.needsManager ? FLAG_NEEDS_MANAGER : 0);
  return {
    s: s.state,
    ...(f ? { f } : {}),
    ...(s.rotateAt !== undefined ? { r: s.rotateAt } : {}),
    ...(s.expireAt !== undefined ? { x: s.expireAt } : {}),
    ...(s.owed.length
      ? { g: s.owed.map((o) => [o.at, o.revokeAfter, o.leaked ? 1 : 0] as [number, number, 0 | 1]) }
      : {}),
    k: s.keyVersions,
    ...(s.legacySeal ? { l: 1 as const } : {}),
  };
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Reads the summary back from index metadata; undefined when it has none (an index entry written
 * before this summary existed) or it is not well formed. Checked by hand rather than with a zod
 * schema: a page decodes a thousand of these per listing, and this is a tenth of the CPU.
 */
export function decodeSummary(meta: unknown): RecordSummary | undefined {
  if (typeof meta !== "object" || meta === null) return undefined;
  const m = meta as Partial<Record<keyof SummaryMetadata, unknown>>;
  if ((m.s !== "active" && m.s !== "revoked") || !Array.isArray(m.k) || !m.k.every(isNum)) return undefined;
  const f = isNum(m.f) ? m.f : 0;
  const owed: RecordSummary["owed"] = [];
  if (Array.isArray(m.g)) {
    for (const g of m.g) {
      if (!Array.isArray(g) || !isNum(g[0]) || !isNum(g[1])) return undefined;
      owed.push({ at: g[0], revokeAfter: g[1], leaked: g[2] === 1 });
    }
  }
  return {
    state: m.s,
    rotating: (f & FLAG_ROTATING) !== 0,
    lastFailed: (f & FLAG_LAST_FAILED) !== 0,
    leakedLive: (f & FLAG_LEAKED_LIVE) !== 0,
    needsManager: (f & FLAG_NEEDS_MANAGER) !== 0,
    ...(isNum(m.r) ? { rotateAt: m.r } : {}),
    ...(isNum(m.x) ? { expireAt: m.x } : {}),
    owed,
    keyVersions: m.k as number[],
    legacySeal: m.l === 1,
  };
}
