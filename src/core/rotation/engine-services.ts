/**
 * What the rotation engine needs from the outside world. Runtime-neutral: entry points build it
 * (src/worker.ts, src/deno.ts), tests build it over the memory store and the Clarifai emulator.
 */
import type { ClarifaiClient } from "../clarifai/index.ts";
import type { CloudflareClient } from "../cloudflare/client.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { FingerprintKey } from "../crypto/fingerprint.ts";
import type { ConfirmationKey } from "../chatops/confirmation.ts";
import type { Store } from "../store/store.ts";
import type { GithubClient } from "../github/client.ts";
import type { Rotation, Step } from "./rotation.ts";

export type EngineEvent =
  | { type: "rotation.step"; rotation: Rotation; step: Step }
  | { type: "rotation.completed"; rotation: Rotation }
  | { type: "rotation.failed"; rotation: Rotation }
  | {
    type: "credential.revoked";
    credentialId: string;
    fingerprint: string;
    rotationId?: string;
    reason: string;
    /** A leaked value: from the alert's arrival to Clarifai confirming the delete. */
    containmentMs?: number;
    /** Who it was done for (core/audit/actor.ts): the rotation's requester, `sweep`, an alert's source. */
    actor: string;
  }
  | { type: "credential.orphaned_manager"; rotation: Rotation };

export interface RetryPolicy {
  /** Tries per step within one drive, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface EngineServices {
  store: Store;
  clarifai: ClarifaiClient;
  keyring: Keyring;
  fingerprintKey: FingerprintKey;
  /** Chat confirmation MACs: derived from the fingerprint key, never the fingerprint key itself. */
  confirmationKey: ConfirmationKey;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  retry: RetryPolicy;
  /** How long a driver may hold a rotation before another may take it over. */
  leaseMs: number;
  /** Called after each persisted transition; failures here never undo the transition. */
  emit: (event: EngineEvent) => Promise<void>;
  /** GitHub (Actions secret sinks, alert resolution); absent when no GitHub credentials are configured. */
  github?: GithubClient;
  /** The Cloudflare API, for `cloudflare_worker_secret` sinks; absent without CLOUDFLARE_API_TOKEN. */
  cloudflare?: CloudflareClient;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4_000 };
export const DEFAULT_LEASE_MS = 60_000;
