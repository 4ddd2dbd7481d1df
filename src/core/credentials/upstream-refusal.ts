import type { ClarifaiFailure } from "../clarifai/index.ts";
import type { ErrorValue } from "../result.ts";

/** Codes registration refuses with when Clarifai refused one of its calls. */
export type UpstreamRefusal =
  | "upstream_unavailable"
  | "invalid_credential"
  | "manager_insufficient_scopes"
  | "upstream_rejected";

/** Why registration refuses when Clarifai refused one of its calls; `who` names the call's token or target. */
export function upstreamRefusal(e: ClarifaiFailure, who: string): ErrorValue<UpstreamRefusal> {
  if (e.retryable) return { code: "upstream_unavailable", message: "Clarifai is unavailable; try again later" };
  if (e.detail.kind === "invalid_key") {
    return { code: "invalid_credential", message: `Clarifai refused the ${who} token as invalid` };
  }
  if (e.detail.kind === "insufficient_scopes") {
    return { code: "manager_insufficient_scopes", message: `Clarifai refused the ${who} token: insufficient scopes` };
  }
  return { code: "upstream_rejected", message: `Clarifai rejected the ${who} request (${e.detail.kind})` };
}
