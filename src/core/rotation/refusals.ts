/**
 * The one table of what a refused `beginRotation` says, on every surface that starts rotations
 * (admin API, dashboard, chat). The code is the contract (JSON `error.code`, chat's
 * `X-Rekey-Refusal`); the words differ only where a surface needs its own: chat names the
 * credential in its own markup, and the dashboard takes no values, so it points to the API.
 *
 * Runtime-neutral.
 */
import type { BeginResult } from "./begin.ts";

export type BeginRefusal = Extract<BeginResult, { ok: false }>["code"];

interface RefusalWording {
  /** The admin API's message, and the dashboard's unless `ui` is set (the status is src/http/on-error.ts's). */
  message: string;
  ui?: string;
  /** Chat's sentence; `id` is the credential id, never a value. */
  chat: (id: string) => string;
}

export const BEGIN_REFUSALS: Record<BeginRefusal, RefusalWording> = {
  credential_not_found: {
    message: "No such credential",
    chat: (id) => `No managed credential \`${id}\`.`,
  },
  credential_revoked: {
    message: "The credential is revoked",
    chat: (id) => `Credential \`${id}\` is already revoked.`,
  },
  value_required: {
    message: 'Rotating a "secret" credential needs "value" (or a "random" generator in its policy)',
    ui:
      'Rotating a "secret" credential needs a new value: use the admin API (POST /v1/credentials/{id}/rotate with "value"), or give it a "random" generator',
    chat: (id) => `\`${id}\` is a secret without a generator: rotate it through the admin API with the new value.`,
  },
  value_superseded: {
    message: "The value was replaced meanwhile",
    chat: (id) => `The value of \`${id}\` changed meanwhile.`,
  },
  conflict: {
    message: "The credential kept changing; try again",
    chat: (id) => `\`${id}\` kept changing; try again.`,
  },
};
