/**
 * How hard the reliability suite pushes: `npm test` runs the bounded version, `npm run test:soak`
 * (REKEY_SOAK=1, provided by vitest.config.ts) the long one. Every count in the suite goes through
 * `runs`, so the two differ only in how many cases they try.
 */
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    soak: boolean;
  }
}

export const SOAK: boolean = inject("soak") === true;

/** `bounded` cases in CI, `soak` cases in the soak run. */
export const runs = (bounded: number, soak: number): number => (SOAK ? soak : bounded);

/** A per-test timeout that grows with the soak. */
export const timeout = (boundedMs: number, soakMs: number = boundedMs * 40): number => (SOAK ? soakMs : boundedMs);
