import type { Actor } from "../core/bus/fields.ts";
import type { Services } from "../services.ts";
import type { Session, UiKeys } from "./session.ts";

/** The dashboard's Hono environment: the app's `services`, plus what ./guard.ts puts on a signed-in request. */
export type UiEnv = {
  Variables: {
    /** The CSP nonce of this response's inline stylesheet (./headers.ts). */
    secureHeadersNonce?: string;
    services: Services;
    session?: Session;
    keys?: UiKeys;
    /** This session's CSRF token, for the forms a page renders. */
    csrf?: string;
    /** Who is signed in: an Access identity, or `admin-token` (./guard.ts). */
    actor?: Actor;
  };
};
