/**
 * The runner-agnostic suites' `Assert` (test/support/store-contract.ts) in vitest: node:assert
 * is not available in workerd without nodejs_compat, which the Worker does not need.
 */
import { expect } from "vitest";
import type { Assert } from "./store-contract.ts";

export const vitestAssert: Assert = {
  equal: (actual, expected, message) => expect(actual, message).toBe(expected),
  notEqual: (actual, expected, message) => expect(actual, message).not.toBe(expected),
  deepEqual: (actual, expected, message) => expect(actual, message).toStrictEqual(expected),
  ok(value, message) {
    expect(value, message).toBeTruthy();
  },
};
