/**
 * A managed app key with a Clarifai-secret sink, registered through the real registration path
 * against an in-process emulator: the common starting point of the engine tests.
 */
import { registerCredential } from "../../src/core/credentials/register.ts";
import type { CredentialKind, Policy } from "../../src/core/credentials/credential.ts";
import { decrypt } from "../../src/core/crypto/envelope.ts";
import { aadFor, type CredentialRecord, CURRENT_VALUE } from "../../src/core/credentials/credential.ts";
import { type EngineHarness, engineHarness } from "./engine-harness.ts";
import type { Store } from "../../src/core/store/store.ts";

/** `opts.secretValue`: a secret's value (default one fixed value; a store shared by tests needs a value each). */
export async function scenario(
  kind: CredentialKind,
  policy: Partial<Policy> = {},
  opts: { store?: Store; secretValue?: string } = {},
) {
  const h = await engineHarness({ ...(opts.store ? { store: opts.store } : {}) });
  const managerKey = await h.mintKey("personal_access_token", ["All"], "manager");
  const manager = await registerCredential(h.engine, {
    kind: "pat",
    user_id: h.seed.userId,
    value: managerKey.id,
    description: "manager",
  });
  if (!manager.ok) throw new Error(`manager registration failed: ${manager.error.code}`);
  const sinkId = "SINK_SECRET";
  await h.clarifai.createSecret(managerKey.id, h.seed.userId, { id: sinkId, value: "placeholder" });
  let original: string;
  let registered;
  const sinks = [{ type: "clarifai_secret" as const, user_id: h.seed.userId, secret_id: sinkId }];
  const fullPolicy = { grace_hours: 0, ...policy };
  if (kind === "secret") {
    original = opts.secretValue ?? "third-party-key-ORIGINAL";
    await h.clarifai.createSecret(managerKey.id, h.seed.userId, { id: "OPENAI_KEY", value: original });
    registered = await registerCredential(h.engine, {
      kind,
      user_id: h.seed.userId,
      secret_id: "OPENAI_KEY",
      manager_id: manager.value.id,
      policy: fullPolicy,
      sinks,
    });
  } else {
    const key = await h.mintKey(kind === "pat" ? "personal_access_token" : "app_specific_key", [
      "Predict",
      "Inputs_Get",
    ], "workload key");
    original = key.id;
    registered = await registerCredential(h.engine, {
      kind,
      user_id: h.seed.userId,
      value: key.id,
      manager_id: manager.value.id,
      policy: fullPolicy,
      sinks,
    });
  }
  if (!registered.ok) throw new Error(`registration failed: ${registered.error.code} ${registered.error.message}`);
  return { h, managerKey, manager: manager.value, cred: registered.value, original, sinkId };
}

export async function currentValue(h: EngineHarness, id: string): Promise<{ rec: CredentialRecord; value: string }> {
  const rec = (await h.engine.store.getCredential(id))!.value;
  const opened = await decrypt(h.engine.keyring, rec.value, aadFor(rec, CURRENT_VALUE));
  if (!opened.ok) throw new Error("current value does not decrypt");
  return { rec, value: opened.value };
}

/**
 * Clarifai refuses every `method` call on the user's secrets from now on: 403 with status 11007
 * (permission denied), through the emulator's fault route.
 */
export function refuseSecrets(h: EngineHarness, method: "PATCH" | "DELETE") {
  return h.control("faults", {
    method,
    path: `/v2/users/${h.seed.userId}/secrets`,
    count: 10_000,
    status: 403,
    code: 11007,
  });
}
