/**
 * Which keys at Clarifai are rekey's own. rekey deletes at Clarifai only a value its records say
 * it minted or manages; this file holds the rules for the one case where a record alone cannot
 * name the key: a create call whose answer was lost.
 *
 * A new key's description carries `[rekey:<rotation id>]` (rotationMarker), and before each create
 * call the rotation records a create window (rotation.ts `create_window`). The marker alone proves
 * nothing: anyone who may edit a key's description at Clarifai can copy a marker onto any key (an
 * `All`-scoped PAT, say). So a marked key counts as minted by a rotation only if Clarifai's own
 * `created_at` for it falls inside that rotation's window. A copied marker on a key created at any
 * other time is never adopted and never deleted.
 *
 * Trade-off: the window is compared across two clocks (Clarifai's `created_at`, rekey's `now`), so
 * it is widened by CLOCK_SKEW_MS each side. A key created by someone else within seconds of a
 * rotation's create call, and given a copy of that rotation's marker, would still pass; making one
 * needs the key-write access that could delete keys outright anyway.
 */
import type { Key } from "../clarifai/index.ts";
import type { Rotation } from "./rotation.ts";
import { MARKER_PATTERN } from "./rotation.ts";

/**
 * How long after a create call starts Clarifai may still create the key: the largest client
 * timeout rekey allows (CLARIFAI_TIMEOUT_MS is at most 60 s), so a call that timed out is covered.
 */
export const CREATE_CALL_MAX_MS = 60_000;
/** Allowance for the difference between Clarifai's clock and rekey's. */
export const CLOCK_SKEW_MS = 5_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** The rotation id a key's description names, if any. */
export function markerOf(key: Pick<Key, "description">): string | undefined {
  return MARKER_PATTERN.exec(key.description ?? "")?.[1];
}

/** What to record before a create call at `now`: the window opens (or widens) to cover it. */
export function openCreateWindow(r: Rotation, now: number): Pick<Rotation, "create_window"> {
  return { create_window: { opened_at: r.create_window?.opened_at ?? iso(now), closes_at: iso(now + CREATE_CALL_MAX_MS) } };
}

/** Whether Clarifai created this key inside the rotation's recorded create window. */
export function createdInWindow(key: Pick<Key, "created_at">, r: Pick<Rotation, "create_window">): boolean {
  if (!r.create_window || !key.created_at) return false;
  const created = Date.parse(key.created_at);
  if (Number.isNaN(created)) return false;
  return created >= Date.parse(r.create_window.opened_at) - CLOCK_SKEW_MS && created <= Date.parse(r.create_window.closes_at) + CLOCK_SKEW_MS;
}

/** A key carrying this rotation's marker and created inside its window: one it may have minted. */
export function mintedBy(key: Pick<Key, "description" | "created_at">, r: Pick<Rotation, "id" | "create_window">): boolean {
  return markerOf(key) === r.id && createdInWindow(key, r);
}

/** Why a marked key that is not provably an orphan is left alone (`orphan.suspected`). */
export type LeftAloneReason = "outside_create_window" | "rotation_running" | "rotation_unknown";

/**
 * Verdict on a key that names `r` in its marker, for a rotation that has settled: rekey's orphan
 * (delete it) only if it was created inside the window and is not the key the rotation recorded,
 * or it is the recorded key of a failed rotation whose rollback could not delete it. The caller
 * still checks that no credential knows its fingerprint.
 */
export function orphanVerdict(
  key: Pick<Key, "description" | "created_at">,
  keyFingerprint: string,
  r: Rotation | null,
): { orphan: true } | { orphan: false; leftAlone?: LeftAloneReason } {
  if (!r) return { orphan: false, leftAlone: "rotation_unknown" };
  if (r.state === "running") return { orphan: false, leftAlone: "rotation_running" };
  if (!createdInWindow(key, r)) return { orphan: false, leftAlone: "outside_create_window" };
  if (keyFingerprint !== r.new_fingerprint) return { orphan: true };
  // The key this rotation recorded: an orphan only if it failed and its rollback did not delete it.
  return r.state === "failed" && r.rollback_incomplete ? { orphan: true } : { orphan: false };
}
