/**
 * What the Deno end-to-end tests share to drive rekey and the Clarifai emulator over HTTP: the
 * admin API called with the admin token (every answer's text kept in `bodies`, for the leak
 * checks), the emulator's control routes, and a tenant whose manager PAT is registered with rekey.
 */
import assert from "node:assert/strict";

interface Answer {
  status: number;
  text: string;
  json: any;
}

/** The admin API of the rekey at `base`; each answer's text is pushed to `bodies`. */
export function adminClient(base: string, token: string, bodies: string[]) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
  };
}

/** An emulator's control routes (`/_emulator/<path>`): GET without a body, POST with one. */
export function emulatorControl(base: string) {
  return async (path: string, body?: unknown): Promise<any> =>
    (await fetch(`${base}/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    })).json();
}

/**
 * A Clarifai user with app `app1` and a manager PAT (scope All) registered with rekey; `mint`
 * makes more keys, each id pushed to `secrets` (the values the leak checks look for).
 */
export async function managedTenant(
  user: string,
  cl: ReturnType<typeof emulatorControl>,
  call: ReturnType<typeof adminClient>,
  secrets: string[],
) {
  await cl("users", { id: user });
  await cl(`users/${user}/apps`, { id: "app1" });
  const mint = async (type: string, scopes: string[]) => {
    const key = (await cl(`users/${user}/keys`, {
      type,
      scopes,
      description: type,
      apps: type === "app_specific_key" ? [{ id: "app1", user_id: user }] : [],
    })).key as { id: string };
    secrets.push(key.id);
    return key;
  };
  const manager = await mint("personal_access_token", ["All"]);
  const mgr = await call("POST", "/v1/credentials", { kind: "pat", user_id: user, value: manager.id });
  assert.equal(mgr.status, 201, mgr.text);
  return { mint, managerId: mgr.json.credential.id as string };
}
