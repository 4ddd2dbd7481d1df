/**
 * The shared Node-hosted GitHub emulator (test/setup/global-setup.ts) seen from inside workerd.
 * Test files run in parallel against it, so each works under its own organization (`freshOrg`)
 * and scopes its faults to its own paths. Its state opens Actions secret values with libsodium.
 */
import { inject } from "vitest";
import { call } from "./api.ts";

export const GITHUB_WEBHOOK_SECRET = "test-github-webhook-secret-0123456789";

export function githubUrl(): string {
  return inject("githubUrl");
}

export async function githubControl(path: string, body?: unknown, method?: string): Promise<any> {
  const res = await fetch(`${githubUrl()}/_emulator/${path}`, {
    method: method ?? (body === undefined ? "GET" : "POST"),
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`GitHub emulator control ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

export interface Delivery {
  id: string;
  headers: Record<string, string>;
  body: string;
}

/** An organization of its own with one repository (and an environment), the test App installed on it. */
export async function freshOrg(prefix: string) {
  const org = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const repository = `${org}/app`;
  await githubControl("repos", { full_name: repository, environments: ["production"] });
  const installation = (await githubControl("installations", { account: org })).installation.id as number;
  return {
    org,
    repository,
    installation,
    /** Creates an open alert for `secret`; its `created` webhook (signed, not yet sent) is returned too. */
    async alert(secret: string): Promise<{ number: number; delivery: Delivery }> {
      const r = await githubControl(`repos/${repository}/alerts`, { secret, deliver: true });
      return { number: r.alert.number, delivery: r.delivery };
    },
    async deliver(body: { number?: number; action?: string; event?: string; payload?: unknown }): Promise<Delivery> {
      return (await githubControl("deliveries", { repository, ...body })).delivery;
    },
    async state() {
      const s = await githubControl(`state?owner=${encodeURIComponent(org)}`);
      const mine = (x: string) => x.toLowerCase().includes(org.toLowerCase());
      return {
        alerts: (s.alerts as any[]).filter((a) => mine(a.repository)),
        secrets: (s.secrets as any[]).filter((x) => mine(x.scope)),
        calls: (s.calls as any[]).filter((c) => mine(c.path)),
      };
    },
    /** The next `count` calls of `method path` (under this org's paths; `*` is one segment) fail so. */
    async fault(method: string, path: string, fault: Record<string, unknown>, count = 1) {
      await githubControl("faults", { method, path, count, ...fault });
    },
  };
}

/** Posts a delivery to the Worker as GitHub would (its headers, its raw body). */
export function postDelivery(d: Delivery, override: Record<string, string> = {}) {
  return call("POST", "/hooks/github/events", d.body, { authorization: "", ...d.headers, ...override });
}
