/**
 * A replacement key carries every restriction of the key it replaces, never fewer: `scopes`,
 * `apps`, `endpoints`, `authorized_idp_ids`, `organization_id` and an expiry no later than the
 * one the key had at registration (the restricting fields of Clarifai's `Key` message,
 * resources.proto). Dropping one would turn a narrow leaked key into a wide replacement.
 *
 * Trade-off: the restrictions are those read from Clarifai at registration (and carried since);
 * a key narrowed at Clarifai afterwards is not re-read before each rotation (that would put the
 * token into a GetKey URL, or list every key), so re-register a credential after narrowing it.
 */
import { type NewKey, normalizeScope, type ScopesInfo } from "../clarifai/index.ts";
import type { CredentialRecord } from "../credentials/credential.ts";

/** The restricting fields of a replacement for `rec`'s key (everything but type and description). */
export function replacementRestrictions(
  rec: CredentialRecord,
  expiresAt: string | undefined,
): Omit<NewKey, "type" | "description"> {
  return {
    scopes: rec.scopes,
    apps: rec.apps,
    ...(rec.endpoints?.length ? { endpoints: rec.endpoints } : {}),
    ...(rec.authorized_idp_ids?.length ? { authorized_idp_ids: rec.authorized_idp_ids } : {}),
    ...(rec.organization_id ? { organization_id: rec.organization_id } : {}),
    ...(expiresAt ? { expires_at: expiresAt } : {}),
  };
}

/** The earliest of the given expiry times (ISO), or undefined when none is set. */
export function earliest(...times: Array<string | undefined>): string | undefined {
  const set = times.filter((t): t is string => t !== undefined);
  if (!set.length) return undefined;
  return set.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
}

const ENDPOINT_PREFIX = "/clarifai.api.V2/";
const endpointName = (
  e: string,
) => (e.startsWith(ENDPOINT_PREFIX) ? e.slice(ENDPOINT_PREFIX.length) : e.replace(/^\//, ""));
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * Why the new key, as Clarifai describes it (MyScopes), differs from what `rec` allows, or null.
 * Both directions count: wider breaks the promise above, narrower breaks the workload.
 */
export function restrictionMismatch(rec: CredentialRecord, seen: ScopesInfo): string | null {
  const want = [...new Set(rec.scopes.map(normalizeScope))];
  const got = [...new Set(seen.scopes.map(normalizeScope))];
  const coversAll = (s: string[]) => s.includes("All");
  if (!coversAll(want) && (coversAll(got) || got.some((s) => !want.includes(s)))) return "wider scopes";
  if (!coversAll(got) && want.some((s) => !got.includes(s))) return "narrower scopes";
  const wantEndpoints = [...new Set((rec.endpoints ?? []).map(endpointName))];
  const gotEndpoints = [...new Set(seen.endpoints.map(endpointName))];
  // Clarifai may list the endpoints an unrestricted key can reach; only a restricted key is compared.
  if (wantEndpoints.length && !sameSet(wantEndpoints, gotEndpoints)) return "other endpoints";
  if (rec.kind === "app_key" && rec.app_id && seen.app?.id !== rec.app_id) return "another app";
  return null;
}
