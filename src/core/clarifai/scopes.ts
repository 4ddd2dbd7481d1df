/**
 * The scopes each client method needs (`cl_depending_scopes` in service.proto, reference §4.1, §5.1
 * and §6), and a check that a credential holds them, so the rotation engine can refuse a manager PAT
 * before it half-rotates anything.
 *
 * Scope strings appear as `Keys_Get` (proto enum) and `Keys:Get` (docs); both are accepted and
 * compared in the `_` form. `All` covers every scope.
 *
 * Runtime-neutral.
 *
 * @module
 */

/** Scopes the calling PAT must hold, per client method. The key/secret endpoints also demand a PAT. */
export const REQUIRED_SCOPES = {
  createKey: ["Keys_Add", "Keys_Get", "Apps_Get"],
  listKeys: ["Keys_Get"],
  listAppKeys: ["Apps_Get", "Keys_Get"],
  getKey: ["Keys_Get"],
  patchKeys: ["Keys_Add", "Keys_Get"],
  deleteKey: ["Keys_Add", "Keys_Delete", "Keys_Get"],
  createSecret: ["Secrets_Add"],
  getSecret: ["Secrets_Get"],
  listSecrets: ["Secrets_Get"],
  patchSecrets: ["Secrets_Add"],
  deleteSecrets: ["Secrets_Delete"],
  getUser: [],
  myScopes: [],
  myUserScopes: [],
} as const satisfies Record<string, readonly string[]>;

export type ScopedOperation = keyof typeof REQUIRED_SCOPES;

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

/** True if `held` covers every scope in `needed`. */
export function hasScopes(held: readonly string[], needed: readonly string[]): boolean {
  return missingScopes(held, needed).length === 0;
}
