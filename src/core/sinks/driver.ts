/**
 * What every sink type implements. The rotation engine (core/rotation/steps.ts, rollback.ts) and
 * registration (core/credentials/register.ts) talk to sinks only through this, so a new place a
 * value can go (a GitHub Actions secret, a Worker secret) is one file beside this one plus a line
 * in ./drivers.ts.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { UpstreamRefusal } from "../credentials/upstream-refusal.ts";
import type { ErrorValue } from "../result.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";
import type { Sink } from "./schemas.ts";

/** What a sink call may use: the engine's services, the credential and rotation it serves. */
export interface SinkContext {
  engine: EngineServices;
  rec: CredentialRecord;
  rotation: Rotation;
  /** The Clarifai manager token for this rotation (resolved on first use: not every sink needs it). */
  clarifaiToken: () => Promise<string>;
}

/** What registration's pre-flight may use: no rotation exists yet. */
export interface PreflightContext {
  engine: EngineServices;
  /** The manager token registration has already proved against Clarifai. */
  clarifaiToken: string;
}

/**
 * A sink registration refuses: `sink_not_found` for a sink that is not there, or the refusal of
 * the service it lives in (src/http/on-error.ts gives each its HTTP status).
 */
export type SinkRefusal = ErrorValue<
  "sink_not_found" | "sink_unauthorized" | "not_configured" | "github_not_configured" | UpstreamRefusal
>;

export interface SinkDriver<S extends Sink = Sink> {
  /** The sink's stable id, as `rotation.propagated` records it. */
  key(sink: S): string;
  /** Clarifai scopes the manager must hold to use this sink (registration checks them). */
  readonly managerScopes: readonly string[];
  /**
   * Overwrites the sink with `value`. Idempotent: a retry or a resumed crash writes the same value
   * again. Throws a step failure (core/rotation/step-error.ts; retryable or not) when the write did not happen.
   */
  write(ctx: SinkContext, sink: S, value: string): Promise<void>;
  /**
   * Whether the sink now holds the rotation's new value (`ctx.rotation.new_fingerprint`), for
   * verify and for a rollback deciding whether an overwrite happened. May throw a retryable
   * step failure.
   */
  holdsNewValue(ctx: SinkContext, sink: S): Promise<boolean>;
  /**
   * Registration's pre-flight: the sink exists and can be written. `path` names it in the
   * refusal (`sinks.2`), since a refusal must say which sink is wrong without echoing a value.
   */
  preflight(ctx: PreflightContext, sink: S, path: string): Promise<SinkRefusal | null>;
}
