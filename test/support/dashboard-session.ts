/** Reads the dashboard as an operator would, after a token sign-in (POST /ui/sign-in with the admin token). */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { ADMIN_TOKEN } from "./api.ts";

/** The session cookie (`name=value`, ready for a `cookie` header) the sign-in set. */
export async function adminSession(): Promise<string> {
  const signIn = await exports.default.fetch("http://rekey.test/ui/sign-in", {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
  });
  const cookie = /(__Host-rekey_session=[^;]*)/.exec(signIn.headers.get("set-cookie") ?? "")?.[1];
  if (!cookie) throw new Error("sign-in set no session cookie");
  return cookie;
}

/** A dashboard page's HTML, signed in with the admin token; the page must answer 200. */
export async function dashboardPage(path: string): Promise<string> {
  const cookie = await adminSession();
  const page = await exports.default.fetch(`http://rekey.test${path}`, { headers: { cookie } });
  expect(page.status).toBe(200);
  return page.text();
}
