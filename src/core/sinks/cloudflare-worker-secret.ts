/**
 * A Cloudflare Worker's secret as a sink: `PUT /accounts/{account_id}/workers/scripts/{script}/secrets`
 * with `{ name, text, type: "secret_text" }` writes the new value (creating the secret if need
 * be; idempotent), with CLOUDFLARE_API_TOKEN ("Workers Scripts: Edit"). Changing a secret deploys
 * a new version of that Worker, which then reads the new value from its `env`.
 *
 * Verify has less to go on than for a Clarifai secret: Cloudflare never returns a secret's text,
 * so `holdsNewValue` can only prove that a secret of that name and type `secret_text` exists. The
 * evidence that it holds the new value is the PUT that Cloudflare answered with success. A
 * rollback (core/rotation/rollback.ts) puts the old value back the same way.
 *
 * No Clarifai scopes: the manager PAT is not used.
 */
import { stepFailure } from "../rotation/step-error.ts";
import type { Result } from "../result.ts";
import type { CloudflareClient, CloudflareError } from "../cloudflare/client.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { SinkDriver, SinkRefusal } from "./driver.ts";
import type { CloudflareWorkerSecretSink } from "./schemas.ts";

/** A Cloudflare failure as a step fails: its code, status and Cloudflare's codes, never Cloudflare's text. */
const failed = (e: CloudflareError) => stepFailure(e.retryable, e.code, e.message);

function clientOf(engine: EngineServices): CloudflareClient {
  if (!engine.cloudflare) {
    throw stepFailure(false, "not_configured", 'A Worker secret sink needs "CLOUDFLARE_API_TOKEN"');
  }
  return engine.cloudflare;
}

async function call<T>(pending: Promise<Result<T, CloudflareError>>): Promise<T> {
  const result = await pending;
  if (!result.ok) throw failed(result.error);
  return result.value;
}

export const cloudflareWorkerSecretSink: SinkDriver<CloudflareWorkerSecretSink> = {
  key: (s) => `${s.type}:${s.account_id}/${s.script}/${s.name}`,
  managerScopes: [],

  async write({ engine }, s, value) {
    await call(clientOf(engine).putSecret(s.account_id, s.script, s.name, value));
  },

  async holdsNewValue({ engine }, s) {
    const found = await clientOf(engine).getSecret(s.account_id, s.script, s.name);
    if (!found.ok) {
      if (found.error.kind === "not_found") return false;
      throw failed(found.error);
    }
    return found.value.name === s.name && found.value.type === "secret_text";
  },

  /**
   * The Worker exists and the token can see its secrets (listing them needs the same permission
   * group as writing). The secret itself need not exist yet: the first rotation creates it.
   */
  async preflight({ engine }, s, path): Promise<SinkRefusal | null> {
    if (!engine.cloudflare) {
      return {
        code: "not_configured",
        message: `The sink "${path}" needs "CLOUDFLARE_API_TOKEN", which is not configured`,
      };
    }
    const listed = await engine.cloudflare.listSecrets(s.account_id, s.script);
    if (listed.ok) return null;
    const e = listed.error;
    if (e.retryable) {
      return {
        code: "upstream_unavailable",
        message: "The Cloudflare API is unavailable; try again later",
      };
    }
    if (e.kind === "not_found") {
      return {
        code: "sink_not_found",
        message: `The Worker named by "${path}.script" does not exist in "${path}.account_id"`,
      };
    }
    if (e.kind === "unauthorized") {
      return {
        code: "sink_unauthorized",
        message: `CLOUDFLARE_API_TOKEN may not edit the Worker named by "${path}"`,
      };
    }
    return { code: "upstream_rejected", message: `The Cloudflare API rejected the check of "${path}"` };
  },
};
