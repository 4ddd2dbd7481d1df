/**
 * The Cloudflare API emulator that the Node emulator host serves under /cloudflare
 * (emulator/node/serve.ts), seen from inside workerd: each test file makes an account of its own
 * and grants the Worker's CLOUDFLARE_API_TOKEN (vitest.config.ts) on it.
 */
import { emulatorUrl } from "./emulator-control.ts";

export const WORKER_CLOUDFLARE_TOKEN = "test-cloudflare-api-token-0123456789";

export async function cloudflareControl(path: string, body?: unknown, method = body === undefined ? "GET" : "POST") {
  const res = await fetch(`${emulatorUrl()}/cloudflare/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`cloudflare emulator control ${path} answered ${res.status}`);
  return res.json() as Promise<any>;
}

/** A fresh account with one Worker, on which the Worker under test's token may edit scripts. */
export async function freshAccount(script = "billing-api") {
  const accountId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  await cloudflareControl("tokens", { token: WORKER_CLOUDFLARE_TOKEN, accounts: [accountId] });
  await cloudflareControl("scripts", { account_id: accountId, script });
  return {
    accountId,
    script,
    /** The secret as the emulator holds it (text included: only the control surface shows it). */
    async secret(name: string): Promise<{ name: string; type: string; text: string; version: number } | undefined> {
      const state = await cloudflareControl("state");
      const s = state.scripts.find((x: any) => x.account_id === accountId && x.script === script);
      return s?.secrets.find((x: any) => x.name === name);
    },
    async calls() {
      const state = await cloudflareControl("state");
      return (state.calls as any[]).filter((c) => String(c.path).includes(`/accounts/${accountId}/`));
    },
  };
}
