/**
 * The first middleware of every route: the configuration's verdict (src/config-check.ts) and,
 * in dev mode, the Host check.
 *
 * - Dev mode (REKEY_DEV_MODE=true) answers only requests addressed to loopback: `Host` (and the
 *   URL) must be `127.0.0.1`, `localhost` or `[::1]`, with any port; anything else is 421
 *   `misdirected_request`. A local stack runs on public development secrets, and DNS rebinding
 *   lets any web page a developer visits reach 127.0.0.1 under its own name: the browser then
 *   sends that name as Host, which is how it is told apart.
 * - A configuration problem answers 503 with its code (`config_invalid`, `dev_secrets_refused`)
 *   and the variables' names, on every route, /healthz included: fail closed, and visibly.
 *
 * The Host check comes first, so a rebound page cannot read even which variables are wrong.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ConfigCheck } from "../config-check.ts";
import { refused } from "./on-error.ts";

const LOOPBACK = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/** True when both the URL's authority and the Host header (if any) name a loopback host. */
function addressedToLoopback(request: Request): boolean {
  const header = request.headers.get("host");
  return LOOPBACK.test(new URL(request.url).host) && (header === null || LOOPBACK.test(header));
}

export function configGate(check: (c: Context) => ConfigCheck): MiddlewareHandler {
  return async function configGate(c, next) {
    const state = check(c);
    if (state.devMode && !addressedToLoopback(c.req.raw)) {
      throw refused(
        "misdirected_request",
        "This development server answers only requests to 127.0.0.1, localhost or [::1]",
      );
    }
    if (!state.ok) {
      c.header("Retry-After", "60");
      throw refused(state.problem.code, state.problem.message, { variables: state.problem.variables });
    }
    await next();
  };
}
