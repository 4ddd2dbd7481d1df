/**
 * How a refused `beginRotation` reads over HTTP, for every route that starts rotations (admin API,
 * dashboard): its code (whose status ./on-error.ts gives) and words from the one refusal table
 * (core/rotation/refusals.ts), so the same refusal reads the same wherever it surfaces.
 */
import { BEGIN_REFUSALS, type BeginRefusal } from "../core/rotation/refusals.ts";
import type { Failure } from "../core/failure.ts";
import { refused } from "./on-error.ts";

/** `surface: "ui"` takes the dashboard's words where it has its own (it takes no values). */
export function beginError(code: BeginRefusal, surface: "api" | "ui" = "api"): Failure<"refused"> {
  const { message, ui } = BEGIN_REFUSALS[code];
  return refused(code, (surface === "ui" ? ui : undefined) ?? message);
}
