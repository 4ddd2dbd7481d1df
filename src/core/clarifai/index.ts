/**
 * Clarifai REST client for keys, PATs, secrets and credential checks (Clarifai's API reference,
 * https://docs.clarifai.com/, and its protos, https://github.com/Clarifai/clarifai-python-grpc).
 *
 * Error model: every method resolves to a `Result` (src/core/result.ts) and never rejects: Clarifai
 * errors, network failures and timeouts all come back as `{ ok: false, error }` where `error` is a
 * `Failure` tagged `clarifai` (core/failure.ts) with `detail.kind` and `retryable` (true for
 * throttled, server, timeout, network).
 * The rotation engine retries those with backoff and stops on the rest. An HTTP 2xx whose
 * `status.code` is not 10000 is an error too. Only `createClarifaiClient` throws (a TypeError, for
 * invalid options: a configuration bug, not an expected failure).
 *
 * Types are Clarifai's snake_case wire shapes, inferred from the zod schemas in schemas.ts.
 * `Key.id` and `Secret.value` are secrets; a Clarifai failure never holds one.
 *
 * Runtime-neutral: fetch and web APIs only.
 *
 * @example
 * ```ts
 * const clarifai = createClarifaiClient({ baseUrl: config.CLARIFAI_API_BASE });
 * const made = await clarifai.createKey(managerPat, "me", { type: "app_specific_key", description, scopes, apps });
 * if (!made.ok && made.error.retryable) { ... back off and try again ... }
 * ```
 *
 * @module
 */
export { createClarifaiClient } from "./client.ts";
export type { ClarifaiClient, ClarifaiClientOptions } from "./client.ts";
export type { ClarifaiFailure } from "./errors.ts";
export type { ClarifaiErrorKind } from "./errors.ts";
export { MAX_PER_PAGE } from "./pagination.ts";
export { missingScopes, normalizeScope, scopesFor } from "./scopes.ts";
export * from "./schemas.ts";
