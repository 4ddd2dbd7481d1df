/**
 * How a refused `beginRotation` reads over HTTP, for every route that starts rotations (admin API,
 * dashboard). One table, so the same refusal has the same status and code wherever it surfaces.
 */
import type { BeginResult } from "../core/rotation/begin.ts";
import { AppError } from "./app-error.ts";

type BeginCode = Extract<BeginResult, { ok: false }>["code"];

const BEGIN_ERRORS: Record<BeginCode, [400 | 404 | 409 | 422, string]> = {
  credential_not_found: [404, "No such credential"],
  credential_revoked: [409, "The credential is revoked"],
  value_required: [422, 'Rotating a "secret" credential needs "value" (or a "random" generator in its policy)'],
  value_superseded: [409, "The value was replaced meanwhile"],
  conflict: [409, "The credential kept changing; try again"],
};

/** `messages` lets a route say the same thing in its own terms (the dashboard takes no values). */
export function beginError(code: BeginCode, messages: Partial<Record<BeginCode, string>> = {}): AppError {
  const [status, message] = BEGIN_ERRORS[code];
  return new AppError(status, code, messages[code] ?? message);
}
