/**
 * Headers on every dashboard response. The CSP allows nothing but the page's own inline
 * stylesheet (by a per-response nonce) and form posts back to rekey: no scripts at all, no
 * images, fonts or connections, no framing (clickjacking on the rotate/revoke buttons), no <base>.
 * Pages hold credential metadata, so nothing is cached.
 */
import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { UiEnv } from "./env.ts";

export const uiSecureHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    styleSrc: [NONCE],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  xContentTypeOptions: "nosniff",
});

export const noStore: MiddlewareHandler<UiEnv> = async (c, next) => {
  await next();
  c.res.headers.set("Cache-Control", "no-store");
};
