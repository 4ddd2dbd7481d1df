import type { ClarifaiError } from "../clarifai/index.ts";

/** Why registration refuses when Clarifai refused one of its calls; `who` names the call's token or target. */
export function upstreamRefusal(e: ClarifaiError, who: string): { status: 422 | 503; code: string; message: string } {
  if (e.retryable) {
    return { status: 503, code: "upstream_unavailable", message: "Clarifai is unavailable; try again later" };
  }
  if (e.kind === "invalid_key") {
    return { status: 422, code: "invalid_credential", message: `Clarifai refused the ${who} token as invalid` };
  }
  if (e.kind === "insufficient_scopes") {
    return {
      status: 422,
      code: "manager_insufficient_scopes",
      message: `Clarifai refused the ${who} token: insufficient scopes`,
    };
  }
  return { status: 422, code: "upstream_rejected", message: `Clarifai rejected the ${who} request (${e.kind})` };
}
