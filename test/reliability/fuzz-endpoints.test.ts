/**
 * Fuzzing every public endpoint of the real Worker (KV, Durable Objects, Queues) against the
 * Node-hosted emulator. The route list is src/openapi/route-docs.ts, so a new route is fuzzed the
 * day it is documented. Each case is a request that must be refused: malformed, truncated,
 * oversized or wrongly typed bodies, wrong content types, junk and missing headers, bad or missing
 * credentials and signatures, wrong methods, odd paths and queries, over-long path ids, lone UTF-16
 * surrogates in string fields, and junk `Host` headers. Whatever the case:
 *   - the answer is 4xx (never 5xx; a read-only route may answer 2xx to a request that is valid);
 *   - nothing changes: the whole KV namespace (records, indexes, rotations, audit trail) and this
 *     file's tenant at the emulator (keys, secrets, calls on its paths) are identical before and
 *     after, once the queue has had time to deliver anything that was published;
 *   - no response (body or header) and no log line carries the canary or any other secret.
 * Whether a request is valid is decided by the route's own zod schemas, so the oracle is the
 * contract itself: a case the schemas accept is skipped on routes that write.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, MAX_GITHUB_ALERT_BYTES } from "../../src/app.ts";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { loneSurrogatePath } from "../../src/http/validate.ts";
import { type RouteDoc, routeDocs } from "../../src/openapi/route-docs.ts";
import { ADMIN_TOKEN, call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { signedGithubAlert } from "../support/github-test-key.ts";
import { discordSigned, SLACK_SECRET } from "../support/chat.ts";
import { signSlackRequest } from "../../scripts/lib/slack-signer.ts";
import { signGithubWebhook } from "../../src/core/inbound/github-webhook.ts";
import { GITHUB_WEBHOOK_SECRET } from "../support/github.ts";
import { CANARY, expectNoCanary, plantCanary, receiverTexts } from "./canary.ts";
import { runs, SOAK, timeout } from "./soak.ts";

const ALERT_SECRET = "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==";
const GITHUB_PATH = "/hooks/github/secret-scanning";
const SMALL_LIMIT = MAX_BODY_BYTES;
const GITHUB_LIMIT = MAX_GITHUB_ALERT_BYTES;
const CASES = runs(100, 10_000);
/** Schemes whose requests are signed by the sender: fuzzed unsigned and signed-but-malformed. */
const SIGNED = new Set<string>([
  "github_signature",
  "github_webhook_signature",
  "standard_webhooks",
  "slack_signature",
  "discord_signature",
]);
const KNOWN_SCHEMES = new Set<string>(["admin", ...SIGNED, "ui_session"]);

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let credentialIds: string[] = [];
let leaks: ReturnType<typeof canary>;
const statuses = new Map<string, Map<number, number>>();

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("fuzz");
  leaks.secrets.push(tenant.manager.id, CANARY, ADMIN_TOKEN, ALERT_SECRET.slice(6));
  const managerId = await registerManager(tenant);
  const secretId = await plantCanary(tenant);
  const secret = await call("POST", "/v1/credentials", {
    kind: "secret",
    user_id: tenant.userId,
    secret_id: secretId,
    manager_id: managerId,
  });
  expect(secret.status).toBe(201);
  const app = await registerAppKey(tenant, { managerId, label: "fuzzed", secrets: leaks.secrets });
  credentialIds = [managerId, secret.json.credential.id, app.id];
});

// ---- the state that must not change --------------------------------------------------------

async function kvSnapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.REKEY_KV.list(cursor ? { cursor } : {});
    for (const k of page.keys) {
      out.set(k.name, `${JSON.stringify(k.metadata ?? null)} ${await env.REKEY_KV.get(k.name)}`);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

async function snapshot() {
  const upstream = await tenant.state();
  return {
    kv: await kvSnapshot(),
    keys: JSON.stringify(upstream.keys.map((k: { id: string; description?: string }) => [k.id, k.description]).sort()),
    secrets: JSON.stringify(upstream.secrets.map((s: { id: string; value?: string }) => [s.id, s.value]).sort()),
    calls: upstream.calls.length,
  };
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

const changedKv = (before: Snapshot, after: Snapshot) =>
  [...new Set([...before.kv.keys(), ...after.kv.keys()])].filter((k) => before.kv.get(k) !== after.kv.get(k));

const sameState = (a: Snapshot, b: Snapshot) =>
  changedKv(a, b).length === 0 && a.keys === b.keys && a.secrets === b.secrets && a.calls === b.calls;

/**
 * A snapshot once anything published has landed (the queue consumer writes the audit trail):
 * polled until two consecutive snapshots agree, for at most `timeoutMs`. A state still changing
 * then is returned as is, for expectSameState to report.
 */
async function settledSnapshot(timeoutMs = 5_000, intervalMs = 150): Promise<Snapshot> {
  const until = Date.now() + timeoutMs;
  let last = await snapshot();
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const next = await snapshot();
    if (sameState(last, next) || Date.now() > until) return next;
    last = next;
  }
}

function expectSameState(before: Snapshot, after: Snapshot, label: string) {
  expect(changedKv(before, after), `${label}: KV entries changed`).toEqual([]);
  expect(after.keys, `${label}: keys at the emulator changed`).toBe(before.keys);
  expect(after.secrets, `${label}: secrets at the emulator changed`).toBe(before.secrets);
  expect(after.calls, `${label}: calls were made upstream for this tenant`).toBe(before.calls);
}

// ---- generators -----------------------------------------------------------------------------

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const tokenChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&'*+.^`|~");
const headerName = fc.string({ unit: tokenChar, minLength: 1, maxLength: 24 });
/** Header values a client can send: printable junk, separators, secrets. */
const headerValue = fc.oneof(
  printable,
  // Tabs and runs of spaces inside (the edges are trimmed by the fetch API). Non-ASCII is left out:
  // workerd re-encodes it as UTF-8 with a warning per request, which drowns the test output.
  fc.array(fc.constantFrom("\t", " ", "  ", ",", ";", "=", '"', "\\", "Bearer", CANARY.slice(0, 8)), { maxLength: 8 })
    .map((a) => `x${a.join("")}x`),
  fc.constant(CANARY),
  fc.constant(""),
  fc.nat().map(String),
);
const contentType = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "json",
    "",
  ),
  printable,
);
/** Values in which a secret could be reflected, if anything echoed its input. */
const jsonLeaf = fc.oneof(
  fc.constant(CANARY),
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const junkJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(
    fc.oneof(fc.constant(CANARY), fc.string({ maxLength: 12 })),
    fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 })),
    { maxKeys: 6 },
  ),
  fc.array(fc.dictionary(fc.string({ maxLength: 8 }), jsonLeaf, { maxKeys: 4 }), { maxLength: 4 }),
);

/** A body that is valid (or nearly) for each known route, for mutation and truncation. */
function sampleBody(route: RouteDoc, id: string): unknown {
  if (route.path === "/v1/credentials") {
    return { kind: "secret", user_id: tenant.userId, secret_id: "CANARY_SECRET", value: CANARY };
  }
  if (route.path.endsWith("/rotate")) return { reason: "manual", value: CANARY };
  if (route.path.endsWith("/revoke")) return { reason: "manual" };
  if (route.path === "/hooks/alerts") return { credential_id: id, reason: "fuzz", source: "fuzz" };
  if (route.path === GITHUB_PATH) {
    return [{ token: CANARY, type: "clarifai_api_key", url: "https://github.com/o/r", source: "content" }];
  }
  return { value: CANARY };
}

/**
 * A lone UTF-16 surrogate as JSON text (`\ud800`): JSON.parse makes a string that is not Unicode.
 * Written as an escape because a raw lone surrogate in a JS string would be sent as U+FFFD.
 */
const loneSurrogate = fc.constantFrom("\\ud800", "\\udfff", "x\\ud83d", "\\ude00x", "\\udc00\\ud800");

/** The sample body with one string field (or a key) holding a lone surrogate. */
function withLoneSurrogate(sample: string): fc.Arbitrary<BodyCase> {
  return fc.tuple(fc.nat(), loneSurrogate, fc.boolean()).map(([at, lone, inKey]) => {
    const obj = JSON.parse(sample) as Record<string, unknown> | Record<string, unknown>[];
    const target = Array.isArray(obj) ? obj[0]! : obj;
    const keys = Object.keys(target);
    const key = keys[at % keys.length]!;
    // A placeholder replaced in the JSON text, so the escape survives serialisation as written.
    if (inKey) target[`LONE_${key}`] = "x";
    else target[key] = `LONE_VALUE`;
    const text = JSON.stringify(obj).replace("LONE_VALUE", lone).replace(`LONE_${key}`, `${key}${lone}`);
    return { text, kind: "lone_surrogate" };
  });
}

type BodyCase = { text: string; kind: string };
function bodyCase(route: RouteDoc, id: string): fc.Arbitrary<BodyCase> {
  const limit = route.path === GITHUB_PATH ? GITHUB_LIMIT : SMALL_LIMIT;
  const sample = JSON.stringify(sampleBody(route, id));
  return fc.oneof(
    junkJson.map((j) => ({ text: JSON.stringify(j) ?? "null", kind: "junk_json" })),
    fc.integer({ min: 1, max: Math.max(1, sample.length - 1) }).map((n) => ({
      text: sample.slice(0, n),
      kind: "truncated",
    })),
    fc.tuple(fc.nat(), jsonLeaf).map(([at, v]) => {
      // One field of the sample replaced by a value of another type (or an unknown field added).
      const obj = JSON.parse(sample) as Record<string, unknown> | Record<string, unknown>[];
      const target = Array.isArray(obj) ? obj[0]! : obj;
      const keys = [...Object.keys(target), "unknown_field"];
      target[keys[at % keys.length]!] = v;
      return { text: JSON.stringify(obj), kind: "wrong_type" };
    }),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({ text: new TextDecoder().decode(b), kind: "bytes" })),
    fc.string({ minLength: 1, maxLength: 200 }).map((s) => ({ text: s, kind: "text" })),
    fc.constantFrom(
      "{",
      "[",
      '"',
      "{}}",
      "[]]",
      "nul",
      '{"a":}',
      "\uFEFF{}",
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{}}}',
      "1e999",
      "-0",
      "[[[[[[[[[[]]]]]]]]]]",
    ).map((t) => ({ text: t, kind: "edge" })),
    fc.integer({ min: 1, max: 4096 }).map((extra) => ({
      text: `{"value":"${"x".repeat(limit + extra)}"}`,
      kind: "oversized",
    })),
    fc.integer({ min: 1, max: 40 }).map((depth) => ({
      text: "[".repeat(depth * 200) + "]".repeat(depth * 200),
      kind: "deep",
    })),
    withLoneSurrogate(sample),
  );
}

/**
 * True if the route's own schemas would accept this body (then a writing route must not see it).
 * Part of the contract besides the schemas: every string must be well-formed Unicode.
 */
function schemaAccepts(route: RouteDoc, raw: string, type: string): boolean {
  if (!route.body) return true;
  try {
    if (loneSurrogatePath(JSON.parse(raw.replace(/^\uFEFF/, ""))) !== undefined) return false;
  } catch {
    // not JSON: judged below
  }
  // The server decodes bodies as UTF-8 the fetch way, which drops a leading byte order mark.
  const text = raw.replace(/^\uFEFF/, "");
  if ((route as { bodyType?: string }).bodyType === "form") {
    const form = Object.fromEntries(new URLSearchParams(text));
    // Slack interactions carry their JSON in a "payload" field: accepted if either shape passes.
    let payload: unknown;
    try {
      payload = JSON.parse(form.payload ?? "");
    } catch {
      payload = undefined;
    }
    return route.body.safeParse(form).success ||
      (payload !== undefined && route.body.safeParse({ ...form, payload }).success);
  }
  if (text === "" && (route.path.endsWith("/rotate") || route.path.endsWith("/revoke"))) return true;
  if (!/^application\/json\b/i.test(type) && !SIGNED.has(route.security)) return false;
  try {
    return route.body.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  kind: string;
  /** A read-only request that is valid may succeed. */
  mayPass: boolean;
  /** The statuses this kind of refusal must produce. */
  expect?: number[];
  /** Sent to this URL host with this Host header instead of rekey.test. */
  host?: { url: string; header: string };
}

const pathParam = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789_"), minLength: 1, maxLength: 30 }).map((
    s,
  ) => `cred_${s}`),
  fc.constantFrom("rot_nope", "%00", "..%2F..%2Fetc", "cred_" + "9".repeat(200), CANARY),
  // Over-long ids, around and past KV's 512-byte key limit (a 512-byte rotation id was a 500).
  fc.tuple(fc.constantFrom("cred_", "rot_", ""), fc.integer({ min: 27, max: 4_000 })).map(([prefix, n]) =>
    `${prefix}${"a".repeat(n)}`
  ),
  fc.constantFrom(`rot_${"a".repeat(508)}`, `cred_${"b".repeat(507)}`, `cred_${"c".repeat(2_048)}`),
).filter((s) => s !== "." && s !== "..");

/**
 * Junk `Host` headers (DNS rebinding of a local stack, proxies passing anything through). The URL's
 * host is one a URL can hold; the header may be anything a client can send. Dev mode may refuse a
 * non-loopback Host with 421 misdirected_request: a 4xx like any other refusal here.
 */
const junkHost = fc.record({
  url: fc.constantFrom(
    "evil.example",
    "rekey.test.evil.example",
    "127.0.0.1.nip.io",
    "localhost.evil.example",
    "[::2]",
    "0.0.0.0",
    "10.0.0.1:8787",
    "xn--80ak6aa92e.com",
    `${"a".repeat(63)}.example`,
  ),
  header: fc.oneof(
    fc.constantFrom(
      "evil.example",
      "localhost.evil.example",
      "127.0.0.1:99999",
      "localhost:abc",
      "[::1",
      "@evil.example",
      "localhost@evil.example",
      "127.0.0.1 evil.example",
      "",
      "*",
      CANARY,
    ),
    printable,
  ),
});

function caseFor(route: RouteDoc): fc.Arbitrary<FuzzRequest> {
  const verb = route.method.toUpperCase();
  const hasId = route.path.includes("{id}");
  const realIdOk = verb !== "DELETE"; // a valid DELETE of a real id would really forget it
  const idArb = hasId
    ? (realIdOk ? fc.oneof(fc.constantFrom(...credentialIds), pathParam) : pathParam)
    : fc.constant("");
  const pathFor = (id: string) => route.path.replace("{id}", encodeURIComponent(id));
  const extraHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 4 });
  const query = fc.oneof(
    fc.constant(""),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom("cursor", "limit", "credential_id", "type", "since", "until"),
        fc.string({ maxLength: 10 }),
      ),
      fc.oneof(printable, fc.constant(CANARY), fc.integer().map(String)),
      { maxKeys: 3 },
    )
      .map((q) => `?${new URLSearchParams(q)}`),
    // Percent-encoded lone surrogates (CESU-8 and %u forms) and invalid UTF-8, written raw.
    fc.constantFrom(
      "?cursor=%ED%A0%80",
      "?credential_id=%ED%BF%BF&limit=1",
      "?type=%uD800",
      "?since=%C0%80",
      "?until=%FF%FE",
    ),
  );

  // Wrong credentials, whatever the rest of the request.
  const badAuth: Record<string, fc.Arbitrary<Record<string, string>>> = {
    admin: fc.oneof(
      fc.constant({ authorization: "" }),
      headerValue.map((v) => ({ authorization: v })),
      headerValue.map((v) => ({ authorization: `Bearer ${v}` })),
      fc.constantFrom(
        `bearer ${ADMIN_TOKEN}`,
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`,
        `Bearer  ${ADMIN_TOKEN}`,
        ADMIN_TOKEN,
      ).map((v) => ({ authorization: v })),
    ),
    standard_webhooks: fc.record({
      authorization: fc.constant(""),
      "webhook-id": headerValue,
      "webhook-timestamp": fc.oneof(headerValue, fc.constant(String(Math.floor(Date.now() / 1000)))),
      "webhook-signature": fc.oneof(headerValue, headerValue.map((v) => `v1,${v}`)),
    }),
    github_signature: fc.record({
      authorization: fc.constant(""),
      "github-public-key-identifier": headerValue,
      "github-public-key-signature": headerValue,
    }),
    github_webhook_signature: fc.record({
      authorization: fc.constant(""),
      "x-github-event": fc.oneof(headerValue, fc.constantFrom("secret_scanning_alert", "ping", "push")),
      "x-github-delivery": headerValue,
      "x-hub-signature-256": fc.oneof(headerValue, headerValue.map((v) => `sha256=${v}`)),
    }),
    slack_signature: fc.record({
      "x-slack-request-timestamp": fc.oneof(headerValue, fc.constant(String(Math.floor(Date.now() / 1000)))),
      "x-slack-signature": fc.oneof(headerValue, headerValue.map((v) => `v0=${v}`)),
    }),
    discord_signature: fc.record({
      "x-signature-timestamp": fc.oneof(headerValue, fc.constant(String(Math.floor(Date.now() / 1000)))),
      "x-signature-ed25519": fc.oneof(
        headerValue,
        fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 128, maxLength: 128 }),
      ),
    }),
    ui_session: fc.record({ cookie: fc.oneof(headerValue, headerValue.map((v) => `__Host-rekey_session=${v}`)) }),
  };
  const unsigned = badAuth[route.security] ?? fc.record({ authorization: headerValue });

  const cases: fc.Arbitrary<FuzzRequest>[] = [];
  if (route.security !== "none") {
    cases.push(
      fc.record({
        id: idArb,
        body: fc.option(bodyCase(route, credentialIds[1]!), { nil: undefined }),
        auth: unsigned,
        extra: extraHeaders,
        type: contentType,
        q: query,
      }).map(({ id, body, auth, extra, type, q }) => {
        const oversized = body?.kind === "oversized" && verb !== "GET";
        return {
          method: verb,
          path: pathFor(id) + q,
          headers: { ...extra, "content-type": type, ...auth },
          ...(body ? { body: body.text } : {}),
          kind: `unauthenticated/${body?.kind ?? "no_body"}`,
          mayPass: false,
          expect: oversized ? [413] : route.security === "admin" || SIGNED.has(route.security) ? [401, 413] : undefined,
        } satisfies FuzzRequest;
      }),
    );
  }
  if (route.security === "admin" || route.security === "none") {
    // Authenticated (or open) and malformed: body, content type, query, path parameter, headers.
    cases.push(
      fc.record({
        id: idArb,
        body: fc.option(bodyCase(route, credentialIds[1]!), { nil: undefined }),
        extra: extraHeaders,
        type: contentType,
        q: query,
      }).map(({ id, body, extra, type, q }) => {
        const text = body?.text;
        const readOnly = verb === "GET";
        const valid = text === undefined ? true : schemaAccepts(route, text, type);
        return {
          method: verb,
          path: pathFor(id) + q,
          headers: { ...extra, "content-type": type, authorization: `Bearer ${ADMIN_TOKEN}` },
          ...(text !== undefined ? { body: text } : {}),
          kind: `malformed/${body?.kind ?? "no_body"}`,
          // A GET ignores its body; a writing route with a body its schema accepts is skipped.
          mayPass: readOnly,
          ...(!readOnly && valid && route.body ? { skip: true } : {}),
          ...(body?.kind === "oversized" && !readOnly ? { expect: [413] } : {}),
          // Refused by the well-formedness check (or first by the path id, the media type or the size).
          ...(body?.kind === "lone_surrogate" && !readOnly && route.body ? { expect: [400, 404, 413, 415] } : {}),
        } as FuzzRequest;
      }),
    );
  }
  if (SIGNED.has(route.security)) {
    // Correctly signed, but the body is malformed: parsed only after the signature, refused then.
    cases.push(
      bodyCase(route, credentialIds[1]!).chain((body) =>
        fc.constant(body).map((b) =>
          ({
            method: verb,
            path: route.path,
            headers: {},
            body: b.text,
            kind: `signed/${b.kind}`,
            mayPass: false,
            // Chat platforms show a refusal as a 200 with X-Rekey-Refusal (checked in the test).
            expect: b.kind === "oversized"
              ? [413]
              : route.security.startsWith("slack") || route.security.startsWith("discord")
              ? [200, 400, 401]
              : [400],
            // A signed body the schema accepts is a real alert (it would be handled): not this test's.
            ...(schemaAccepts(route, b.text, "application/json") ? { skip: true } : {}),
          }) as FuzzRequest
        )
      ),
    );
  }
  // A method the path does not serve, on an id that cannot exist.
  cases.push(
    fc.record({ m: fc.constantFrom("PUT", "PATCH", "OPTIONS", "PROPFIND", "TRACE"), id: pathParam }).map((
      { m, id },
    ) => ({
      method: m,
      path: pathFor(`x${id}`),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      kind: "method",
      mayPass: false,
      expect: [404, 405],
    })),
  );
  // Any of the route's own cases, from a junk Host: refused as before, or with 421 (see junkHost).
  // Discord's signed cases are built by their own helper, which sends to rekey.test.
  const own = cases.slice(0, -1);
  cases.splice(
    cases.length - 1,
    0,
    fc.tuple(fc.oneof(...own), junkHost).map(([req, host]) => ({
      ...req,
      host,
      kind: `host/${req.kind}`,
      ...(req.expect ? { expect: [...req.expect, 421] } : {}),
    })),
  );
  // The wrong-method arm is the last one: it gets a smaller share than the route's own cases.
  const method = cases.pop()!;
  return fc.oneof(...cases.map((arbitrary) => ({ arbitrary, weight: 4 })), { arbitrary: method, weight: 1 });
}

async function send(
  req: FuzzRequest,
  route: RouteDoc,
): Promise<{ status: number; text: string; headers: string; refusal: string | undefined }> {
  let headers = req.headers;
  const signed = req.kind.replace(/^host\//, "").startsWith("signed/");
  if (signed && route.security === "discord_signature") {
    const r = await discordSigned(req.body ?? "");
    return {
      status: r.status,
      text: r.text,
      headers: JSON.stringify(r.headers),
      refusal: r.headers["x-rekey-refusal"],
    };
  }
  if (signed) {
    const body = req.body ?? "";
    const now = Math.floor(Date.now() / 1000);
    headers = route.security === "github_signature"
      ? { ...(await signedGithubAlert(body)), authorization: "" }
      : route.security === "github_webhook_signature"
      ? {
        // A secret_scanning_alert (the event whose body is read), signed as GitHub signs it.
        "content-type": "application/json",
        authorization: "",
        "x-github-event": "secret_scanning_alert",
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": await signGithubWebhook(GITHUB_WEBHOOK_SECRET, body),
      }
      : route.security === "slack_signature"
      ? {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": String(now),
        "x-slack-signature": await signSlackRequest({ signingSecret: SLACK_SECRET, timestamp: now, body }),
      }
      : await (async () => {
        const id = `msg_${crypto.randomUUID()}`;
        const timestamp = Math.floor(Date.now() / 1000);
        return {
          "content-type": "application/json",
          authorization: "",
          "webhook-id": id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": await signStandardWebhook({ secret: ALERT_SECRET, id, timestamp, body }),
        };
      })();
  }
  if (req.host) headers = { ...headers, host: req.host.header };
  const res = await exports.default.fetch(`http://${req.host?.url ?? "rekey.test"}${req.path}`, {
    method: req.method,
    headers,
    ...(req.body !== undefined && req.method !== "GET" && req.method !== "HEAD" ? { body: req.body } : {}),
    // A redirect (the dashboard's "sign in first") is an answer to check, not to follow.
    redirect: "manual",
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    headers: JSON.stringify([...res.headers]),
    refusal: res.headers.get("x-rekey-refusal") ?? undefined,
  };
}

describe("fuzzing every documented route", () => {
  beforeAll(async () => {
    // Let the registrations' own events (audit entries) land before the first baseline.
    await new Promise((r) => setTimeout(r, 1_500));
  });

  it("knows how to attack every security scheme in the route table", () => {
    // A new scheme needs its own bad-credential generator (and signer) here before it is fuzzed.
    const unknown = routeDocs.map((r) => r.security).filter((sec) => sec !== "none" && !KNOWN_SCHEMES.has(sec));
    expect(unknown).toEqual([]);
  });

  for (const route of routeDocs) {
    const name = `${route.method.toUpperCase()} ${route.path}`;
    it(`${name}: ${CASES} malformed requests, all refused with 4xx, nothing changed, nothing leaked`, {
      timeout: timeout(60_000, 1_800_000),
    }, async () => {
      // Each route against its own baseline, so that one route's failure does not mask the next.
      const before = await snapshot();
      const seen = new Map<number, number>();
      statuses.set(name, seen);
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(caseFor(route), async (req) => {
          fc.pre(!(req as { skip?: boolean }).skip);
          const res = await send(req, route);
          sent++;
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const label = `${req.kind} ${req.method} ${req.path.slice(0, 120)} → ${res.status} ${res.text.slice(0, 200)}`;
          expect(res.status, label).toBeLessThan(500);
          // Refused: a 4xx, or a redirect the route documents (the dashboard sends a visitor
          // without a session to the sign-in form with a 303).
          const refused = res.status >= 400 ||
            (res.status >= 300 && res.status < 400 && route.responses[res.status] !== undefined) ||
            (res.status === 200 && res.refusal !== undefined && req.kind.replace(/^host\//, "").startsWith("signed/"));
          if (!req.mayPass) expect(refused, label).toBe(true);
          if (req.expect) expect(req.expect, label).toContain(res.status);
          expectNoCanary([res.text, res.headers], leaks.secrets);
        }),
        { numRuns: CASES, maxSkipsPerRun: 10, endOnFailure: !SOAK },
      );
      expect(sent).toBeGreaterThanOrEqual(CASES * 0.9);
      expectSameState(before, await settledSnapshot(), name);
    });
  }
});

afterAll(async () => {
  console.info(
    JSON.stringify({
      msg: "fuzz.statuses",
      statuses: Object.fromEntries([...statuses].map(([k, v]) => [k, Object.fromEntries(v)])),
    }),
  );
  const audit = (await call("GET", "/v1/audit?limit=1000")).text;
  const searched = expectNoCanary([audit, ...(await receiverTexts()), ...leaks.logs], leaks.secrets);
  expect(searched).toBeGreaterThan(0);
  leaks.assertClean([audit], 3);
});
