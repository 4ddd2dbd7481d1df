/**
 * Freezes a plain value and everything reachable from it, for values one isolate shares between
 * readers (a parsed record, a validated event): a change in place then throws (modules are
 * strict) instead of silently altering what another reader holds. Runtime-neutral.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
