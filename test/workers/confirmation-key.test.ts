/**
 * One key per purpose, chat confirmations: a confirmation MAC must not be computable from what
 * rekey stores. Before confirmations had their own HKDF-derived key they were MACed with the
 * fingerprint key over a label-prefixed message, so anyone who could choose a managed secret's
 * value and read KV could make rekey compute a valid confirmation for them: set the value to
 * `<label>|slack|<token body>`, read its fingerprint from KV, and truncate it. This drives that
 * attack against the real Worker (KV, Durable Objects, Queues, the emulator): an allowed user
 * forges "Alice asked to revoke" and confirms it alone, defeating the two-person rule.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "../support/api.ts";
import { canary } from "../support/canary.ts";
import { ALICE, blockAction, BOB, responseUrl, slackSigned } from "../support/chat.ts";
import { emulatorUrl } from "../support/emulator-control.ts";
import { managedTenant } from "../support/managed-tenant.ts";
import { decodeHex, encodeBase64Url } from "../../src/core/crypto/encoding.ts";

let tenant: Awaited<ReturnType<typeof managedTenant>>["tenant"];
let managerId: string;
let appKey: Awaited<ReturnType<typeof managedTenant>>["appKey"];
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ tenant, managerId, appKey } = await managedTenant("cfkey", leaks.secrets));
});

describe("a confirmation cannot be forged from a fingerprint", () => {
  it("refuses a token whose MAC is a managed secret's fingerprint read from KV", async () => {
    const target = await appKey();
    const prefix = (await call("GET", `/v1/credentials/${target.id}`)).json.credential.fingerprint as string;
    // The token rekey would mint for "Alice asks to revoke the target", minus its MAC.
    const expires = (Math.floor(Date.now() / 1000) + 600).toString(36);
    const body = ["v", target.id, expires, prefix.slice(0, 8), "abcdef", ALICE].join("|");

    // The attacker makes a secret hold exactly the message the old confirmation MAC covered,
    // and gets rekey to manage it (registration fingerprints the value).
    const chosen = `rekey.chatops.confirm.v1|slack|${body}`;
    const put = await fetch(`${emulatorUrl()}/v2/users/${tenant.userId}/secrets`, {
      method: "POST",
      headers: { authorization: `Key ${tenant.manager.id}`, "content-type": "application/json" },
      body: JSON.stringify({ secrets: [{ id: "CHOSEN", value: chosen }] }),
    });
    expect(put.ok).toBe(true);
    const reg = await call("POST", "/v1/credentials", {
      kind: "secret",
      user_id: tenant.userId,
      secret_id: "CHOSEN",
      manager_id: managerId,
    });
    expect(reg.status).toBe(201);

    // Reading KV gives the full fingerprint (the API shows only 8 hex).
    const stored = JSON.parse((await env.REKEY_KV.get(`cred:${reg.json.credential.id}`))!);
    const fp = decodeHex(stored.fingerprint);
    if (!fp.ok) throw new Error("fingerprint is hex");
    const forged = `${body}|${encodeBase64Url(fp.value.slice(0, 12))}`;

    // Bob clicks Confirm on "Alice's" request: no one asked, and no second person agreed.
    const click = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", forged, responseUrl("forged")),
    );
    expect(click.status).toBe(200);
    expect(click.headers["x-rekey-refusal"]).toBe("confirmation_invalid");
    const after = (await call("GET", `/v1/credentials/${target.id}`)).json.credential;
    expect(after.state).toBe("active");
    expect(after.current_rotation ?? null).toBeNull();
    expect((await tenant.state()).keys.map((k: any) => k.id)).toContain(target.key.id);
    leaks.assertClean([], 1);
  });
});
