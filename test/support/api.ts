/** Calls the Worker under test like a client would, through `exports.default.fetch`. */
import { exports } from "cloudflare:workers";

export const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";

export interface Captured {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  text: string;
  json: any;
}

/** Every response any test made, for the canary check. */
export const responses: Captured[] = [];

export async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Captured> {
  const res = await exports.default.fetch(`http://rekey.test${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const captured = { method, path, status: res.status, headers: Object.fromEntries(res.headers), text, json };
  responses.push(captured);
  return captured;
}

export async function waitForRotation(id: string, timeoutMs = 10_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await call("GET", `/v1/rotations/${id}`);
    if (r.status === 200 && r.json.rotation.state !== "running") return r.json.rotation;
    if (Date.now() > until) throw new Error(`rotation ${id} still ${JSON.stringify(r.json)}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}
