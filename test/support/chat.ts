/**
 * Signed Slack and Discord requests, as the platforms send them, to the Worker under test. The
 * response_url / follow-up webhook is the local receiver (test/setup/receiver.ts), under a path
 * unique to each call so tests can read back exactly what was posted for them.
 */
import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { signSlackRequest } from "../../scripts/lib/slack-signer.ts";
import { signDiscordInteraction } from "./discord-signer.ts";
import { decodeBase64 } from "../../src/core/crypto/encoding.ts";
import { type Captured, responses } from "./api.ts";
import { received } from "./receiver.ts";

export const SLACK_SECRET = "test-slack-signing-secret-0123456789";
export const ALICE = "UALICE01";
export const BOB = "UBOB0002";
export const DISCORD_ALICE = "100000000000000001";
export const DISCORD_BOB = "100000000000000002";

/** Hands a request to the Worker: by default the one under test, with the test bindings. */
export type Send = (request: Request) => Promise<Response>;
const toWorker: Send = (request) => exports.default.fetch(request);

export async function post(
  path: string,
  body: string,
  headers: Record<string, string>,
  send: Send = toWorker,
): Promise<Captured> {
  const res = await send(new Request(`http://rekey.test${path}`, { method: "POST", headers, body }));
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const captured = { method: "POST", path, status: res.status, headers: Object.fromEntries(res.headers), text, json };
  responses.push(captured);
  return captured;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function slackSigned(
  path: string,
  body: string,
  opts: { timestamp?: number; secret?: string; signature?: string; send?: Send } = {},
) {
  const timestamp = opts.timestamp ?? nowSeconds();
  const signature = opts.signature ??
    (await signSlackRequest({ signingSecret: opts.secret ?? SLACK_SECRET, timestamp, body }));
  return post(path, body, {
    "content-type": "application/x-www-form-urlencoded",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": signature,
  }, opts.send);
}

/** A fresh response_url on the receiver: `{ url, path }`. */
export function responseUrl(tag: string) {
  const path = `/slack/response/${tag}-${crypto.randomUUID().slice(0, 8)}`;
  return { url: `${inject("receiverUrl")}${path}`, path };
}

export function slashCommand(user: string, text: string, response: { url: string }) {
  return new URLSearchParams({
    token: "deprecated-verification-token",
    team_id: "T0REKEY",
    channel_id: "C0ONCALL",
    user_id: user,
    user_name: user.toLowerCase(),
    command: "/rekey",
    text,
    response_url: response.url,
    trigger_id: `${Date.now()}.${Math.random()}`,
  }).toString();
}

export function blockAction(
  user: string,
  actionId: "rekey_confirm" | "rekey_cancel",
  value: string,
  response: { url: string },
) {
  const payload = {
    type: "block_actions",
    user: { id: user, username: user.toLowerCase(), team_id: "T0REKEY" },
    team: { id: "T0REKEY" },
    trigger_id: `${Date.now()}.${Math.random()}`,
    response_url: response.url,
    actions: [{ type: "button", action_id: actionId, block_id: "b1", value, action_ts: String(Date.now() / 1000) }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The Confirm button's value in a Slack answer. */
export function confirmValue(answer: any): string {
  const actions = answer.blocks.find((b: any) => b.type === "actions");
  return actions.elements.find((e: any) => e.action_id === "rekey_confirm").value;
}

/** Waits until the receiver has a request under `path` whose body matches. */
export async function waitForPost(path: string, match: (body: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = (await received(path)).map((r) => JSON.parse(r.body));
    const hit = got.find(match);
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`nothing matching was posted to ${path}: ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let privateKey: Promise<CryptoKey> | undefined;
const discordKey = () => (privateKey ??= crypto.subtle.importKey(
  "pkcs8",
  (decodeBase64(inject("discordPrivateKeyPkcs8")) as { ok: true; value: Uint8Array<ArrayBuffer> }).value,
  { name: "Ed25519" },
  false,
  ["sign"],
));

export async function discordSigned(body: string, opts: { timestamp?: string; tamper?: boolean; send?: Send } = {}) {
  const timestamp = opts.timestamp ?? String(nowSeconds());
  let signature = await signDiscordInteraction({ privateKey: await discordKey(), timestamp, body });
  if (opts.tamper) signature = (signature[0] === "0" ? "1" : "0") + signature.slice(1);
  return post("/chatops/discord", body, {
    "content-type": "application/json",
    "x-signature-ed25519": signature,
    "x-signature-timestamp": timestamp,
  }, opts.send);
}

let seq = 0;
/** A Discord interaction; each gets a fresh id and token, so its follow-up path is its own. */
export function discordInteraction(type: number, user: string, data?: Record<string, unknown>) {
  const id = String(200000000000000000n + BigInt(Date.now() % 1_000_000) * 1000n + BigInt(seq++));
  const token = `tok_${crypto.randomUUID().replaceAll("-", "")}`;
  const body = {
    type,
    id,
    application_id: "300000000000000003",
    token,
    version: 1,
    member: { user: { id: user, username: "u" } },
    ...(data ? { data } : {}),
  };
  return { body: JSON.stringify(body), followUpPath: `/discord/api/webhooks/300000000000000003/${token}` };
}

export const rekeyCommand = (sub: string, id?: string) => ({
  id: "400000000000000004",
  name: "rekey",
  type: 1,
  options: [{ name: sub, type: 1, ...(id ? { options: [{ name: "id", type: 3, value: id }] } : {}) }],
});
