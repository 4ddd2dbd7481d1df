/**
 * Every sink type's driver, by `type`, and the few operations the engine and registration need.
 * The engine names where a rotation's new value goes with `deliveryTargets`: the credential's
 * own Clarifai secret (a `secret` credential's value lives in one) followed by its sinks.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import { clarifaiSecretSink } from "./clarifai-secret.ts";
import { cloudflareWorkerSecretSink } from "./cloudflare-worker-secret.ts";
import { githubActionsSecretSink } from "./github-actions-secret.ts";
import type { PreflightContext, SinkContext, SinkDriver, SinkRefusal } from "./driver.ts";
import type { Sink } from "./schemas.ts";

type Drivers = { [T in Sink["type"]]: SinkDriver<Extract<Sink, { type: T }>> };

const DRIVERS: Drivers = {
  clarifai_secret: clarifaiSecretSink,
  github_actions_secret: githubActionsSecretSink,
  cloudflare_worker_secret: cloudflareWorkerSecretSink,
};

const driverOf = <S extends Sink>(sink: S) => DRIVERS[sink.type] as unknown as SinkDriver<S>;

/** The sink's stable id in `rotation.propagated`. */
export const sinkKey = (sink: Sink) => driverOf(sink).key(sink);

export const sinkManagerScopes = (sink: Sink) => driverOf(sink).managerScopes;

export const writeSink = (ctx: SinkContext, sink: Sink, value: string) => driverOf(sink).write(ctx, sink, value);

export const sinkHoldsNewValue = (ctx: SinkContext, sink: Sink) => driverOf(sink).holdsNewValue(ctx, sink);

export const preflightSink = (ctx: PreflightContext, sink: Sink, path: string): Promise<SinkRefusal | null> =>
  driverOf(sink).preflight(ctx, sink, path);

/** The credential's own secret, when its value lives in one (kind `secret`): always the first target. */
export function ownSecret(rec: CredentialRecord): Sink | undefined {
  return rec.kind === "secret" && rec.secret_id
    ? { type: "clarifai_secret", user_id: rec.user_id, secret_id: rec.secret_id }
    : undefined;
}

/** Where a rotation's new value must land: the credential's own secret, then its sinks. */
export function deliveryTargets(rec: CredentialRecord): Sink[] {
  const own = ownSecret(rec);
  return own ? [own, ...rec.sinks] : [...rec.sinks];
}
