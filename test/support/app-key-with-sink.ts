/**
 * A fresh tenant's app key with a Clarifai secret sink, registered under the tenant's manager, and
 * readers of what the emulator then holds: the sink's value, the tenant's keys, the DELETEs of the
 * registered key and the keys a rotation minted (found by its marker in their description). For the
 * hand-off tests (rotator-continuation, manual-handoff), whose rotations deliver to that sink.
 */
import { expect } from "vitest";
import { registerAppKey } from "./app-key.ts";
import { emulatorUrl, freshTenant } from "./emulator-control.ts";
import { registerManager } from "./manager.ts";

/** `secrets` is the canary's list: the manager's token and the minted key are pushed to it. */
export async function appKeyWithSink(prefix: string, secrets: string[], policy: Record<string, unknown>) {
  const t = await freshTenant(prefix);
  secrets.push(t.manager.id);
  const managerId = await registerManager(t);
  const sink = `${prefix.toUpperCase().replaceAll("-", "_")}_SINK`;
  const made = await fetch(`${emulatorUrl()}/v2/users/${t.userId}/secrets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Key ${t.manager.id}` },
    body: JSON.stringify({ secrets: [{ id: sink, value: "placeholder-value" }] }),
  });
  expect(made.ok).toBe(true);
  const reg = await registerAppKey(t, {
    managerId,
    secrets,
    sinks: [{ type: "clarifai_secret", user_id: t.userId, secret_id: sink }],
    policy,
  });
  const key = reg.key.id as string;
  const sinkValue = async () => (await t.state()).secrets.find((s: any) => s.id === sink)?.value;
  const keys = async () => (await t.state()).keys.map((k: any) => k.id as string);
  const deletes = async () =>
    (await t.state()).calls.filter((c: any) => c.method === "DELETE" && String(c.path).endsWith(`/keys/${key}`))
      .map((c: any) => c.status);
  const minted = async (rotationId: string) =>
    (await t.state()).keys.filter((k: any) => String(k.description).includes(rotationId));
  return { t, id: reg.id, key, sinkValue, keys, deletes, minted };
}
