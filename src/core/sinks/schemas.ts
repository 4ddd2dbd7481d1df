/**
 * Where a rotation delivers the new value besides Clarifai itself: one zod schema per sink type,
 * their union, and the stable key a rotation records for each sink it has written
 * (`rotation.propagated`). Each type's behaviour lives in its own file beside this one.
 */
import * as z from "zod/mini";
import { clarifaiIdSchema } from "../clarifai/ids.ts";
import { githubActionsSecretSinkSchema } from "./github-actions-secret.ts";

const clarifaiSecretSinkSchema = z.strictObject({
  type: z.literal("clarifai_secret"),
  user_id: clarifaiIdSchema,
  secret_id: clarifaiIdSchema,
});
export type ClarifaiSecretSink = z.infer<typeof clarifaiSecretSinkSchema>;

/**
 * A Cloudflare Worker's secret (./cloudflare-worker-secret.ts). Ids as Cloudflare shapes them: a
 * 32-hex account id, a Worker (script) name, a secret (binding) name that is a JS identifier.
 */
const cloudflareWorkerSecretSinkSchema = z.strictObject({
  type: z.literal("cloudflare_worker_secret"),
  account_id: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  script: z.string().check(z.regex(/^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/)),
  name: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/)),
});
export type CloudflareWorkerSecretSink = z.infer<typeof cloudflareWorkerSecretSinkSchema>;

export const sinkSchema = z.discriminatedUnion("type", [
  clarifaiSecretSinkSchema,
  githubActionsSecretSinkSchema,
  cloudflareWorkerSecretSinkSchema,
]);
export type Sink = z.infer<typeof sinkSchema>;
