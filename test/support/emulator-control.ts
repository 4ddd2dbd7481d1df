/**
 * The shared Node-hosted Clarifai emulator that test/setup/global-setup.ts starts, seen from
 * inside workerd. Test files run in parallel against it, so each file works under its own user.
 */
import { inject } from "vitest";

export function emulatorUrl(): string {
  return inject("emulatorUrl");
}

export async function control(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${emulatorUrl()}/_emulator/${path}`, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`emulator control ${path} answered ${res.status}`);
  return res.json();
}

/**
 * The user's next key create fails for good: Clarifai's 403 for missing scopes (11007), a permanent
 * failure, so the rotation that makes it fails at once, without retries.
 */
export function failNextKeyCreate(userId: string): Promise<unknown> {
  return control("faults", { method: "POST", path: `/v2/users/${userId}/keys`, count: 1, status: 403, code: 11007 });
}

/** The user's next `count` key deletes are refused for good: Clarifai's 400 invalid request (11102), a permanent failure. */
export function refuseKeyDeletes(userId: string, count: number): Promise<unknown> {
  return control("faults", { method: "DELETE", path: `/v2/users/${userId}/keys/*`, count, status: 400, code: 11102 });
}

/** A fresh user with one app, a manager PAT (scopes "All") and a workload app key. */
export async function freshTenant(prefix: string) {
  const userId = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  await control("users", { id: userId });
  await control(`users/${userId}/apps`, { id: "app1" });
  const mint = async (type: string, scopes: string[], description: string) =>
    (await control(`users/${userId}/keys`, {
      type,
      scopes,
      description,
      apps: type === "app_specific_key" ? [{ id: "app1", user_id: userId }] : [],
    })).key as {
      id: string;
      scopes: string[];
    };
  return {
    userId,
    appId: "app1",
    manager: await mint("personal_access_token", ["All"], "manager"),
    mint,
    /** This user's keys and secrets, and the calls made on its paths. */
    async state() {
      const s = await control("state");
      return {
        keys: s.keys.filter((k: any) => k.user_id === userId),
        secrets: s.secrets.filter((x: any) => x.user_id === userId),
        calls: s.calls.filter((c: any) => String(c.path).includes(`/users/${userId}/`)),
      };
    },
  };
}
