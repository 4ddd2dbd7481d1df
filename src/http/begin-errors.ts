/**
 * How a refused `beginRotation` reads over HTTP, for every route that starts rotations (admin API,
 * dashboard): status, code and words from the one refusal table (core/rotation/refusals.ts), so
 * the same refusal reads the same wherever it surfaces.
 */
import { BEGIN_REFUSALS, type BeginRefusal } from "../core/rotation/refusals.ts";
import { AppError } from "./app-error.ts";

/** `surface: "ui"` takes the dashboard's words where it has its own (it takes no values). */
export function beginError(code: BeginRefusal, surface: "api" | "ui" = "api"): AppError {
  const { status, message, ui } = BEGIN_REFUSALS[code];
  return new AppError(status, code, (surface === "ui" ? ui : undefined) ?? message);
}
