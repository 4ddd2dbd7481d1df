/**
 * The reliability suite's canary: one secret value, registered with rekey at the start of every
 * file that drives the Worker (as a managed `secret` credential's value, so rekey holds it sealed
 * exactly like a real leaked-or-rotated value), then searched for in everything that file saw
 * rekey produce: response bodies and headers, log lines, audit entries, events and what the local
 * receiver got (Slack, outbound webhooks, chat replies). Test files run in separate isolates, so
 * each registers the same value under its own tenant and checks what it saw; the receiver is shared,
 * so every file's final check also covers the messages the others caused.
 */
import { expect } from "vitest";
import { emulatorUrl, type freshTenant } from "../support/emulator-control.ts";
import { received } from "../support/receiver.ts";

/** Looks like a provider API key, so nothing treats it specially. */
export const CANARY = "sk-canary-7f3b9c2e4a1d8f6b0e5c3a9d7b1f4e2c";

/** Stores CANARY as a Clarifai secret of the tenant, ready to be registered as a `secret` credential. */
export async function plantCanary(
  tenant: Awaited<ReturnType<typeof freshTenant>>,
  secretId = "CANARY_SECRET",
): Promise<string> {
  const res = await fetch(`${emulatorUrl()}/v2/users/${tenant.userId}/secrets`, {
    method: "POST",
    headers: { authorization: `Key ${tenant.manager.id}`, "content-type": "application/json" },
    body: JSON.stringify({ secrets: [{ id: secretId, value: CANARY }] }),
  });
  if (!res.ok) throw new Error(`planting the canary answered ${res.status}`);
  return secretId;
}

/** Counts occurrences of CANARY (and of `others`) in `haystacks`; expects none. */
export function expectNoCanary(haystacks: Iterable<string>, others: string[] = []): number {
  let searched = 0;
  for (const h of haystacks) {
    searched += h.length;
    for (const s of [CANARY, ...others]) {
      if (h.includes(s)) {
        expect.fail(`a secret value leaked: ${h.slice(Math.max(0, h.indexOf(s) - 120), h.indexOf(s) + 40)}`);
      }
    }
  }
  return searched;
}

/** Everything the shared receiver got so far (every file's outbound messages). */
export async function receiverTexts(): Promise<string[]> {
  return (await received("/")).map((r) => `${r.method} ${r.path} ${JSON.stringify(r.headers)} ${r.body}`);
}
