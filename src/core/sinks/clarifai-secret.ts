/**
 * A Clarifai environment secret as a sink: PATCH `overwrite` writes the value (idempotent), GET
 * reads it back for verify. Both calls use the credential's manager token, whose Secrets_Get and
 * Secrets_Add scopes registration checked (`managerScopes`).
 */
import { scopesFor } from "../clarifai/index.ts";
import { upstreamRefusal } from "../credentials/upstream-refusal.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { unwrap } from "../rotation/step-error.ts";
import type { SinkDriver } from "./driver.ts";
import type { ClarifaiSecretSink } from "./schemas.ts";

export const clarifaiSecretSink: SinkDriver<ClarifaiSecretSink> = {
  key: (s) => `${s.type}:${s.user_id}/${s.secret_id}`,
  managerScopes: scopesFor("getSecret", "patchSecrets"),

  async write({ engine, clarifaiToken }, s, value) {
    const token = await clarifaiToken();
    unwrap(await engine.clarifai.patchSecrets(token, s.user_id, [{ id: s.secret_id, value }], "overwrite"));
  },

  async holdsNewValue({ engine, rotation, clarifaiToken }, s) {
    if (!rotation.new_fingerprint) return false;
    const token = await clarifaiToken();
    const secret = unwrap(await engine.clarifai.getSecret(token, s.user_id, s.secret_id));
    return (await fingerprint(engine.fingerprintKey, secret.value ?? "")) === rotation.new_fingerprint;
  },

  async preflight({ engine, clarifaiToken }, s, path) {
    const found = await engine.clarifai.getSecret(clarifaiToken, s.user_id, s.secret_id);
    if (found.ok) return null;
    if (found.error.detail.kind === "not_found") {
      return { code: "sink_not_found", message: `The secret named by "${path}.secret_id" does not exist` };
    }
    return upstreamRefusal(found.error, "sink");
  },
};
