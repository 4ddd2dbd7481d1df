/**
 * What a matrix case injects, as plain data (./cases.ts lists them), and the injector that does
 * it at the real adapters' seams (./world.ts): the emulator's own fault routes or a lost answer
 * on the wire for upstream failures; the store's writes, the cell's KV mirror and Clarifai's
 * answers for crashes. Runner-agnostic.
 */
import type { WriteInfo } from "./world.ts";

/** Upstream failures (the fault matrix). */
export type FaultKind = "503" | "429" | "500" | "403" | "401" | "drop" | "lost_response" | "timeout";

/** A `POST /_emulator/faults` body without method and path, or "lost": served, then the answer is lost. */
export type EmulatorFault = { status?: number; code?: number; drop?: boolean; delay_ms?: number } | "lost";

export const FAULTS: Record<FaultKind, EmulatorFault> = {
  "503": { status: 503, code: 98004 },
  "429": { status: 429, code: 11005 },
  "500": { status: 500, code: 98004 },
  "403": { status: 403, code: 11007 },
  "401": { status: 401, code: 11008 },
  drop: { drop: true },
  lost_response: "lost",
  // Clarifai answers after the client gave up (./world.ts CLIENT_TIMEOUT_MS), and commits all the same.
  timeout: { delay_ms: 250 },
};

/** Failures a retry gets past: the operation must still succeed. */
export const TRANSIENT: ReadonlySet<FaultKind> = new Set(["503", "429", "500", "drop", "lost_response", "timeout"]);

/** Where the isolate running the work dies (the crash matrix). */
export type CrashPoint =
  /** The k-th store write (from the operation's start) commits; the isolate dies before acting on it. */
  | { kind: "after_write"; k: number }
  /**
   * Workers: the k-th write that the store mirrors to KV commits in the credential's Durable
   * Object, and the object dies before its KV mirror write (the mirror is lost).
   */
  | { kind: "mirror_lost"; k: number }
  /** Clarifai created the new key and answered; the isolate dies before the key is persisted. */
  | { kind: "create_answered" }
  /** A propagate wrote the first of two targets; the isolate dies before the second. */
  | { kind: "between_sinks" };

export type Injection =
  | { kind: "none" }
  | { kind: "fault"; fault: FaultKind; index: number }
  | CrashPoint;

export interface Injector {
  /** Called before each upstream call (0-based index): the fault to inject on it, if any. */
  fault?(index: number, req: Request): EmulatorFault | undefined;
  /** After Clarifai answered call `index`: true if the isolate dies right there. */
  afterAnswer?(index: number, req: Request): boolean;
  /** After a store write committed: true if the isolate dies right there. */
  afterWrite?(w: WriteInfo): boolean;
  /** Before a store write: true if that write's KV mirror is to be lost (Workers). */
  loseMirror?(w: WriteInfo): boolean;
  /** Whether the injection happened (a case whose injection never fired tested nothing). */
  fired(): boolean;
}

export const noInjection: Injector = { fired: () => false };

const segments = (req: Request) => new URL(req.url).pathname.split("/").filter(Boolean);
/** `POST /v2/users/{user}/keys`: CreateKey. */
const isCreateKey = (req: Request) =>
  req.method === "POST" && segments(req).length === 4 && segments(req)[3] === "keys";
/** `PATCH /v2/users/{user}/secrets`: a propagate's overwrite of one target. */
const isPatchSecrets = (req: Request) =>
  req.method === "PATCH" && segments(req).length === 4 && segments(req)[3] === "secrets";

export function injectorFor(injection: Injection): Injector {
  let fired = false;
  const once = (hit: boolean) => {
    if (!hit || fired) return false;
    fired = true;
    return true;
  };
  switch (injection.kind) {
    case "none":
      return noInjection;
    case "fault":
      return {
        fault: (index) => (once(index === injection.index) ? FAULTS[injection.fault] : undefined),
        fired: () => fired,
      };
    case "after_write":
      return { afterWrite: (w) => once(w.index === injection.k), fired: () => fired };
    case "mirror_lost":
      return { loseMirror: (w) => once(w.mirroredIndex === injection.k), fired: () => fired };
    case "create_answered":
      return { afterAnswer: (_, req) => once(isCreateKey(req)), fired: () => fired };
    case "between_sinks":
      return { afterAnswer: (_, req) => once(isPatchSecrets(req)), fired: () => fired };
  }
}

export function describeInjection(i: Injection): string {
  switch (i.kind) {
    case "none":
      return "no failure";
    case "fault":
      return `${i.fault}@${i.index}`;
    case "after_write":
      return `crash after write ${i.k}`;
    case "mirror_lost":
      return `crash after the Durable Object committed mirrored write ${i.k}, before its KV mirror`;
    case "create_answered":
      return "crash after Clarifai answered the create, before the key was persisted";
    case "between_sinks":
      return "crash between the two targets of one propagate";
  }
}
