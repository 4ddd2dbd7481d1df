/**
 * Which keys at Clarifai are rekey's own. rekey deletes at Clarifai only a value its records say
 * it minted or manages; this file holds the rules for the one case where a record alone cannot
 * name the key: a create call whose answer was lost.
 *
 * A new key's description carries `[rekey:<rotation id>]` (rotationMarker), and before each create
 * call the rotation records the call's start (rotation.ts `create_calls`). The marker alone proves
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
import { iso } from "../time.ts";

/**
 * How long after a create call starts Clarifai may still create the key: the largest client
 * timeout rekey allows (CLARIFAI_TIMEOUT_MS is at most 60 s), so a call that timed out is covered.
 */
const CREATE_CALL_MAX_MS = 60_000;
/** Allowance for the difference between Clarifai's clock and rekey's. */
const CLOCK_SKEW_MS = 5_000;

/** RFC 3339 with an explicit offset: a timestamp without one would be read in the host's zone. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The rotation id a key's description names. rekey writes exactly one marker, at the end of a
 * description stripped of any other (steps.ts create), so a description carrying more than one
 * marker was not written by rekey as it is: it names no rotation.
 */
export function markerOf(key: Pick<Key, "description">): string | undefined {
  const found = [...(key.description ?? "").matchAll(/\[rekey:([^\]]*)\]/g)];
  if (found.length !== 1) return undefined;
  const id = found[0]![1]!;
  return /^rot_[0-9a-z]{1,26}$/.test(id) ? id : undefined;
}

/** What to record before a create call at `now`: that call's start. */
export function recordCreateCall(r: Rotation, now: number): Pick<Rotation, "create_calls"> {
  return { create_calls: [...(r.create_calls ?? []), iso(now)] };
}

/** Clarifai's creation time of a key, in ms, if it is a well-formed RFC 3339 timestamp. */
function createdAtMs(key: Pick<Key, "created_at">): number | undefined {
  if (!key.created_at || !RFC3339.test(key.created_at)) return undefined;
  const ms = Date.parse(key.created_at);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Whether Clarifai created this key during one of the rotation's recorded create calls. */
export function createdInWindow(key: Pick<Key, "created_at">, r: Pick<Rotation, "create_calls">): boolean {
  const created = createdAtMs(key);
  if (created === undefined) return false;
  return (r.create_calls ?? []).some((start) => {
    const t = Date.parse(start);
    return created >= t - CLOCK_SKEW_MS && created <= t + CREATE_CALL_MAX_MS + CLOCK_SKEW_MS;
  });
}

/** A key carrying this rotation's marker and created inside its window: one it may have minted. */
export function mintedBy(
  key: Pick<Key, "description" | "created_at">,
  r: Pick<Rotation, "id" | "create_calls">,
): boolean {
  return markerOf(key) === r.id && createdInWindow(key, r);
}

/**
 * Of the keys this rotation may have minted, the one to adopt: the earliest created. A copy made
 * by someone who saw the genuine key appear (a leaked PAT can list keys) is always later.
 */
export function earliestCreated<K extends Pick<Key, "created_at">>(keys: K[]): K | undefined {
  return [...keys].sort((a, b) => (createdAtMs(a) ?? Infinity) - (createdAtMs(b) ?? Infinity))[0];
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
