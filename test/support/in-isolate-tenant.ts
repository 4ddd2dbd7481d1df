/**
 * A fresh tenant of a Clarifai emulator running in the test's own isolate (`createEmulator`):
 * a manager PAT and an app key it manages, both registered through rekey's real registration
 * path. `leaked` is the app key's value (the one a test's alert names).
 */
import type { Emulator } from "../../emulator/src/index.ts";
import { registerCredential } from "../../src/core/credentials/register.ts";
import type { EngineServices } from "../../src/core/rotation/engine-services.ts";

/** The base URL a test's services send Clarifai calls to, answered by its in-isolate emulator. */
export const IN_ISOLATE_CLARIFAI = "http://clarifai.emulator";

export async function inIsolateTenant(
  emulator: Emulator,
  engine: EngineServices,
  opts: { prefix: string; graceHours?: number; onCompromise?: "rotate" | "revoke" },
) {
  const { userId, appId, pat } = emulator.seed({
    userId: `${opts.prefix}-${crypto.randomUUID().slice(0, 8)}`,
    appId: "app1",
  });
  const res = await emulator.fetch(`${IN_ISOLATE_CLARIFAI}/_emulator/users/${userId}/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "app_specific_key", scopes: ["Predict"], apps: [{ id: appId, user_id: userId }] }),
  });
  const leaked = ((await res.json()) as { key: { id: string } }).key.id;
  const manager = await registerCredential(engine, { kind: "pat", user_id: userId, value: pat });
  if (!manager.ok) throw new Error(`manager registration: ${manager.error.code}`);
  const app = await registerCredential(engine, {
    kind: "app_key",
    user_id: userId,
    value: leaked,
    manager_id: manager.value.id,
    policy: { grace_hours: opts.graceHours ?? 0, on_compromise: opts.onCompromise ?? "rotate" },
  });
  if (!app.ok) throw new Error(`app key registration: ${app.error.code}`);
  return { userId, pat, leaked, credentialId: app.value.id, managerId: manager.value.id };
}
