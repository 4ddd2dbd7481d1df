/**
 * The scopes each client method needs (`cl_depending_scopes` in service.proto, reference §4.1, §5.1
 * and §6), and a check that a credential holds them, so registration can refuse a manager PAT
 * before a rotation half-rotates anything (core/credentials/register.ts, core/sinks/ ask for the
 * scopes of the calls they will make).
 *
 * Scope strings appear as `Keys_Get` (proto enum) and `Keys:Get` (docs); both are accepted and
 * compared in the `_` form. `All` covers every scope.
 *
 * Runtime-neutral.
 *
 * @module
 */

import type { ClarifaiClient } from "./client.ts";

/**
 * Scopes the calling PAT must hold, per client method (every one of them, so a new method must say
 * what it needs). The key/secret endpoints also demand a PAT.
 */
export const REQUIRED_SCOPES = {
  createKey: ["Keys_Add", "Keys_Get", "Apps_Get"],
  listKeys: ["Keys_Get"],
  listAllKeys: ["Keys_Get"],
  deleteKey: ["Keys_Add", "Keys_Delete", "Keys_Get"],
  getSecret: ["Secrets_Get"],
  patchSecrets: ["Secrets_Add"],
  deleteSecrets: ["Secrets_Delete"],
  myScopes: [],
  myUserScopes: [],
} as const satisfies Record<keyof ClarifaiClient, readonly string[]>;

type ScopedOperation = keyof typeof REQUIRED_SCOPES;

/** `Keys:Get` and ` Keys_Get ` both become `Keys_Get`. */
export function normalizeScope(scope: string): string {
  return scope.trim().replaceAll(":", "_");
}

/** The union of the scopes several operations need, e.g. everything a key rotation calls. */
export function scopesFor(...operations: ScopedOperation[]): string[] {
  return [...new Set(operations.flatMap((op) => REQUIRED_SCOPES[op]))];
}

/** The scopes in `needed` that `held` does not cover, in `_` form; empty when `held` has `All`. */
export function missingScopes(held: readonly string[], needed: readonly string[]): string[] {
  const have = new Set(held.map(normalizeScope));
  if (have.has("All")) return [];
  return [...new Set(needed.map(normalizeScope))].filter((s) => !have.has(s));
}
