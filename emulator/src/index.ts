/**
 * A local Clarifai, faithful to the documented REST API (https://docs.clarifai.com/;
 * protos: https://github.com/Clarifai/clarifai-python-grpc), for
 * tests, demos and `npm start`. Runtime-neutral Hono app: hosted by Node (emulator/node/serve.ts),
 * inside workerd, or in process through `fetch`.
 */
import { type Context, Hono } from "hono";
import { controlRoutes } from "./control-routes.ts";
import { ClarifaiFailure, fail, reply } from "./envelope.ts";
import { DropConnection, hold, inProcessFetch, takeFault } from "./faults.ts";
import { keyRoutes } from "./key-routes.ts";
import { secretRoutes } from "./secret-routes.ts";
import { State } from "./state.ts";
import { userRoutes } from "./user-routes.ts";

export { DropConnection } from "./faults.ts";
export type { CallRecord, Fault, KeyRecord, SecretRecord } from "./state.ts";

export interface Emulator {
  app: Hono;
  /** In-process "network": a dropped connection rejects with a TypeError, as fetch does. */
  fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  seed(opts?: { userId?: string; appId?: string; patToken?: string }): { userId: string; appId: string; pat: string };
  state: State;
}

export function createEmulator(options: { now?: () => Date } = {}): Emulator {
  const state = new State(options.now ?? (() => new Date()));
  const app = new Hono();

  // Fault injection and the call log wrap every Clarifai route (never the control surface).
  app.use("/v2/*", async (c, next) => {
    const fault = takeFault(state, c.req.method, c.req.path);
    if (fault?.delay_ms) await hold(state, c.req.method, c.req.path, fault.delay_ms);
    if (fault?.drop) {
      log(state, c, 0, 0);
      throw new DropConnection("dropped by fault injection");
    }
    if (fault?.location) {
      const out = new Response(null, { status: fault.status ?? 307, headers: { location: fault.location } });
      log(state, c, out.status, 0);
      return out;
    }
    if (fault && (fault.status !== undefined || fault.code !== undefined)) {
      const code = fault.code ?? 98004;
      const res = reply(c, code, {}, "Injected fault");
      const out = new Response(res.body, { status: fault.status ?? res.status, headers: res.headers });
      log(state, c, out.status, code);
      return out;
    }
    await next();
    log(state, c, c.res.status, (c.get("statusCode" as never) as number | undefined) ?? 0);
    if (fault?.drop_after) throw new DropConnection("answer lost by fault injection");
  });
  app.route("/", keyRoutes(state));
  app.route("/", secretRoutes(state));
  app.route("/", userRoutes(state));
  app.route("/", controlRoutes(state));
  app.notFound((
    c,
  ) => (c.req.path.startsWith("/v2/")
    ? fail(c, 11101, "Resource does not exist; the path is bad")
    : c.json({ error: "Not found" }, 404))
  );
  app.onError((error, c) => {
    if (error instanceof DropConnection) throw error;
    if (error instanceof ClarifaiFailure) return fail(c, error.code, error.details);
    return fail(c, 98004, "Internal server issue");
  });

  const fetcher: Emulator["fetch"] = inProcessFetch(app);

  return {
    app,
    fetch: fetcher,
    state,
    seed(opts = {}) {
      const userId = opts.userId ?? "demo";
      const appId = opts.appId ?? "demo-app";
      state.addApp(userId, appId);
      const pat = opts.patToken ?? state.newKeyId();
      state.keys.set(pat, {
        id: pat,
        user_id: userId,
        type: "personal_access_token",
        description: "seeded manager PAT (development only)",
        scopes: ["All"],
        endpoints: [],
        apps: [],
        created_at: state.timestamp(),
      });
      return { userId, appId, pat };
    },
  };
}

function log(state: State, c: Context, status: number, code: number) {
  // Method and path only: the Authorization header (a token) is never recorded.
  state.calls.push({ method: c.req.method, path: c.req.path, status, code, time: state.timestamp() });
}
