/**
 * A local Cloudflare API for exactly what rekey's `cloudflare_worker_secret` sink calls, faithful
 * to the published API (https://developers.cloudflare.com/api/resources/workers/subresources/scripts/subresources/secrets/)
 * and checked against Cloudflare's own `cloudflare` npm client (./official-client.test.ts):
 *
 *   PUT    /client/v4/accounts/{account_id}/workers/scripts/{script}/secrets         {name, text, type}
 *   GET    /client/v4/accounts/{account_id}/workers/scripts/{script}/secrets         → [{name, type}]
 *   GET    /client/v4/accounts/{account_id}/workers/scripts/{script}/secrets/{name}  → {name, type}
 *   DELETE /client/v4/accounts/{account_id}/workers/scripts/{script}/secrets/{name}  → null
 *
 * Every answer is Cloudflare's envelope `{ success, errors: [{code, message}], messages, result }`;
 * a secret's text is never returned by the API (only the control surface shows it, to tests).
 * `Authorization: Bearer <token>`, tokens granted per account by the control surface. The control
 * surface is under /_emulator/ (see emulator/README.md). Runtime-neutral Hono app; the Node host
 * (emulator/node/serve.ts) serves it under /cloudflare beside the Clarifai emulator.
 */
import { type Context, Hono } from "hono";
import * as z from "zod";
import { faultRoutes, faultSpec, readJson } from "../fault-routes.ts";
import { DropConnection, inProcessFetch, takeFault } from "../faults.ts";
import { CloudflareState, type TokenGrant } from "./state.ts";

export { CloudflareState } from "./state.ts";

export interface CloudflareEmulator {
  app: Hono;
  /** In-process "network": a dropped connection rejects with a TypeError, as fetch does. */
  fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  state: CloudflareState;
  /** A token allowed to edit the Workers of `accountId`, and a Worker `script` there. */
  seed(
    opts?: { token?: string; accountId?: string; script?: string },
  ): { token: string; accountId: string; script: string };
}

type Status = 200 | 400 | 403 | 404 | 429 | 500 | 503;

/** Cloudflare's error codes, as its API answers them (see emulator/README.md for the choices). */
const ERR = {
  badHeaders: { code: 6003, message: "Invalid request headers" },
  auth: { code: 10000, message: "Authentication error" },
  scriptNotFound: { code: 10007, message: "workers.api.error.script_not_found" },
  secretNotFound: { code: 10056, message: "workers.api.error.binding_not_found" },
  badInput: { code: 10021, message: "workers.api.error.invalid_input" },
  tooLarge: { code: 10054, message: "workers.api.error.secret_too_large" },
  internal: { code: 10013, message: "workers.api.error.unknown" },
} as const;

function envelope(c: Context, status: Status, result: unknown, errors: { code: number; message: string }[] = []) {
  c.set("cfCode" as never, (errors[0]?.code ?? 0) as never);
  return c.json({ success: errors.length === 0, errors, messages: [], result: errors.length ? null : result }, status);
}

const fail = (c: Context, status: Status, error: { code: number; message: string }, chain?: unknown[]) => {
  c.set("cfCode" as never, error.code as never);
  return c.json(
    { success: false, errors: [{ ...error, ...(chain ? { error_chain: chain } : {}) }], messages: [], result: null },
    status,
  );
};

/** Secret (binding) names: a JS identifier, as Workers bindings are. At most 5 KiB of text. */
const putBody = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/),
  text: z.string(),
  type: z.literal("secret_text"),
});
const MAX_TEXT = 5 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createCloudflareEmulator(options: { now?: () => Date } = {}): CloudflareEmulator {
  const state = new CloudflareState(options.now ?? (() => new Date()));
  const app = new Hono();
  const api = new Hono<{ Variables: { grant: TokenGrant } }>();

  app.use("/client/v4/*", async (c, next) => {
    const fault = takeFault(state, c.req.method, c.req.path);
    if (fault?.delay_ms) await sleep(fault.delay_ms);
    const log = (status: number, code: number) =>
      state.calls.push({ method: c.req.method, path: c.req.path, status, code, time: state.timestamp() });
    if (fault?.drop) {
      log(0, 0);
      throw new DropConnection("dropped by fault injection");
    }
    if (fault && (fault.status !== undefined || fault.code !== undefined)) {
      const status = (fault.status ?? 500) as Status;
      log(status, fault.code ?? ERR.internal.code);
      return fail(c, status, { code: fault.code ?? ERR.internal.code, message: "Injected fault" });
    }
    await next();
    log(c.res.status, (c.get("cfCode" as never) as number | undefined) ?? 0);
    if (fault?.drop_after) throw new DropConnection("answer lost by fault injection");
  });

  // Bearer tokens: a missing or malformed header is 400/6003 (error chain 6111), a token that
  // does not exist or may not touch this account is 403/10000, as Cloudflare answers them.
  api.use("/accounts/:account_id/*", async (c, next) => {
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(c.req.header("authorization") ?? "");
    if (!m) return fail(c, 400, ERR.badHeaders, [{ code: 6111, message: "Invalid format for Authorization header" }]);
    const grant = state.tokens.get(m[1]!);
    if (!grant || !grant.accounts.has(c.req.param("account_id"))) return fail(c, 403, ERR.auth);
    if (c.req.method !== "GET" && grant.permission !== "edit") return fail(c, 403, ERR.auth);
    c.set("grant", grant);
    await next();
  });

  const scriptOf = (c: Context) => state.scripts.get(`${c.req.param("account_id")}/${c.req.param("script")}`);
  const secretsPath = "/accounts/:account_id/workers/scripts/:script/secrets";

  api.put(secretsPath, async (c) => {
    const secrets = scriptOf(c);
    if (!secrets) return fail(c, 404, ERR.scriptNotFound);
    let body: z.infer<typeof putBody>;
    try {
      const parsed = putBody.safeParse(await c.req.json());
      if (!parsed.success) return fail(c, 400, ERR.badInput);
      body = parsed.data;
    } catch {
      return fail(c, 400, ERR.badInput);
    }
    if (new TextEncoder().encode(body.text).length > MAX_TEXT) return fail(c, 400, ERR.tooLarge);
    const before = secrets.get(body.name);
    secrets.set(body.name, {
      name: body.name,
      type: "secret_text",
      text: body.text,
      version: (before?.version ?? 0) + 1,
      modified_at: state.timestamp(),
    });
    return envelope(c, 200, { name: body.name, type: "secret_text" });
  });
  api.get(secretsPath, (c) => {
    const secrets = scriptOf(c);
    if (!secrets) return fail(c, 404, ERR.scriptNotFound);
    return envelope(c, 200, [...secrets.values()].map((s) => ({ name: s.name, type: s.type })));
  });
  api.get(`${secretsPath}/:name`, (c) => {
    const secrets = scriptOf(c);
    if (!secrets) return fail(c, 404, ERR.scriptNotFound);
    const s = secrets.get(c.req.param("name"));
    return s ? envelope(c, 200, { name: s.name, type: s.type }) : fail(c, 404, ERR.secretNotFound);
  });
  api.delete(`${secretsPath}/:name`, (c) => {
    const secrets = scriptOf(c);
    if (!secrets) return fail(c, 404, ERR.scriptNotFound);
    if (!secrets.delete(c.req.param("name"))) return fail(c, 404, ERR.secretNotFound);
    return envelope(c, 200, null);
  });
  app.route("/client/v4", api);
  app.route("/", controlRoutes(state));
  app.notFound((c) =>
    c.req.path.startsWith("/client/v4/")
      ? fail(c, 404, { code: 7003, message: "Could not route to the requested path" })
      : c.json({ error: "Not found" }, 404)
  );
  app.onError((error, c) => {
    if (error instanceof DropConnection) throw error;
    return fail(c, 500, ERR.internal);
  });

  const fetcher: CloudflareEmulator["fetch"] = inProcessFetch(app);

  return {
    app,
    fetch: fetcher,
    state,
    seed(opts = {}) {
      const token = opts.token ?? "dev-cloudflare-api-token";
      const accountId = opts.accountId ?? "0123456789abcdef0123456789abcdef";
      const script = opts.script ?? "demo-consumer";
      state.grant(token, [accountId], "edit");
      state.addScript(accountId, script);
      return { token, accountId, script };
    },
  };
}

const accountId = z.string().regex(/^[0-9a-f]{32}$/);
const scriptName = z.string().regex(/^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/);

/** A fault's method is kept upper-cased, as it is matched and as it is echoed back. */
const cloudflareFault = faultSpec.extend({ method: faultSpec.shape.method.transform((m) => m.toUpperCase()) });

/** The control surface (a contract: see emulator/README.md). Never behind a token. */
function controlRoutes(state: CloudflareState) {
  const bad = (c: Context, message: string) => c.json({ error: message }, 400);
  return new Hono()
    .post("/_emulator/tokens", async (c) => {
      const b = await readJson(
        c.req.raw,
        z.object({
          token: z.string().regex(/^[\x21-\x7e]{8,200}$/),
          accounts: z.array(accountId).min(1),
          permission: z.enum(["edit", "read"]).default("edit"),
        }),
      );
      if (!b) return bad(c, 'Body must be {"token","accounts","permission"}');
      state.grant(b.token, b.accounts, b.permission);
      return c.json({ token: { accounts: b.accounts, permission: b.permission } });
    })
    .post("/_emulator/scripts", async (c) => {
      const b = await readJson(c.req.raw, z.object({ account_id: accountId, script: scriptName }));
      if (!b) return bad(c, 'Body must be {"account_id","script"}');
      state.addScript(b.account_id, b.script);
      return c.json({ script: b });
    })
    // POST and DELETE /_emulator/faults, POST /_emulator/reset (no GET: nothing here holds calls).
    .route("/", faultRoutes(state, cloudflareFault))
    .get("/_emulator/state", (c) =>
      c.json({
        // Token values are not shown: only what each may do.
        tokens: [...state.tokens.values()].map((g) => ({ accounts: [...g.accounts], permission: g.permission })),
        scripts: [...state.scripts.entries()].map(([k, secrets]) => {
          const [account_id, script] = k.split("/");
          return { account_id, script, secrets: [...secrets.values()] };
        }),
        calls: state.calls,
      }));
}
