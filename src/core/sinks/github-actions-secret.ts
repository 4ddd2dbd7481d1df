/**
 * A GitHub Actions secret as a sink: a repository's, one of its environments', or an
 * organization's ("Encrypting secrets for the REST API", "REST API endpoints for GitHub Actions
 * secrets").
 *
 * - write: read the target's public key, seal the value for it (libsodium sealed box,
 *   ../github/sealed-box.ts) and PUT it with the key's `key_id`. An existing organization secret
 *   keeps its visibility (and, since rekey never sends `selected_repository_ids`, its selected
 *   repositories); a new one is created `private`.
 * - holdsNewValue: GitHub never returns a secret's value, so verify reads the secret's
 *   `updated_at` and wants it no older than the moment propagate began the PUT
 *   (`rotation.sink_written_at`). GitHub reports whole seconds by its own clock, so the PUT's time
 *   is cut to its second and CLOCK_SKEW_MS of clock difference is allowed: the trade-off is that
 *   a write lost within that window after another write of the same secret would pass.
 * - preflight: the target's public key can be read, which needs what write needs (the
 *   repository, environment or organization exists and rekey's credentials may use its secrets).
 *
 * No Clarifai scope is needed. GitHub secret names are case-insensitive (GitHub stores them
 * upper-cased), so the sink's key is too.
 */
import * as z from "zod/mini";
import type { GithubClient, SecretTarget } from "../github/client.ts";
import { environmentSchema, loginSchema, repositorySchema, secretNameSchema } from "../github/names.ts";
import { sealForGithub } from "../github/sealed-box.ts";
import { isFailure } from "../failure.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { stepFailure } from "../rotation/step-error.ts";
import type { SinkDriver, SinkRefusal } from "./driver.ts";

export const githubActionsSecretSinkSchema = z
  .strictObject({
    type: z.literal("github_actions_secret"),
    /** `owner/repo`: the repository's secret, or with `environment` that environment's. */
    repository: z.optional(repositorySchema),
    environment: z.optional(environmentSchema),
    /** An organization's secret. */
    organization: z.optional(loginSchema),
    name: secretNameSchema,
  }).check(
    z.refine((s) => (s.repository === undefined) !== (s.organization === undefined), {
      path: ["repository"],
      message: "name exactly one of repository or organization",
    }),
    z.refine((s) => s.environment === undefined || s.repository !== undefined, {
      path: ["environment"],
      message: "an environment belongs to a repository",
    }),
  );
export type GithubActionsSecretSink = z.infer<typeof githubActionsSecretSinkSchema>;

/** GitHub's clock against rekey's; both are NTP-synchronised. */
const CLOCK_SKEW_MS = 2_000;

const targetOf = (s: GithubActionsSecretSink): SecretTarget =>
  s.organization !== undefined
    ? { organization: s.organization }
    : { repository: s.repository!, ...(s.environment !== undefined ? { environment: s.environment } : {}) };

// Inside a step a GitHub failure (a `github` Failure, ../github/errors.ts) is thrown as it is: the
// engine records its code and retries it exactly when it is retryable.
function client(engine: EngineServices): GithubClient {
  if (!engine.github) {
    throw stepFailure(false, "github_not_configured", "A GitHub Actions secret sink needs GitHub credentials");
  }
  return engine.github;
}

export const githubActionsSecretSink: SinkDriver<GithubActionsSecretSink> = {
  key: (s) =>
    `${s.type}:${
      s.organization !== undefined
        ? `org/${s.organization}`
        : `repo/${s.repository}${s.environment !== undefined ? `/env/${s.environment}` : ""}`
    }/${s.name}`.toLowerCase(),
  managerScopes: [],

  async write({ engine }, s, value) {
    const gh = client(engine);
    const target = targetOf(s);
    const publicKey = await gh.getPublicKey(target);
    const encrypted = await sealForGithub(publicKey.key, value);
    // The PUT requires a visibility for an organization secret: keep the one it has. With
    // `selected`, GitHub gives access only to the repositories in `selected_repository_ids`
    // (OpenAPI, "Create or update an organization secret"); an update without them has been
    // reported to empty the list (external-secrets PR #6519, terraform-provider-github PR #843),
    // so the current list is read and sent back. A repository added between the read and the PUT
    // loses access: the window is one request long, and the next rotation does not restore it.
    const visibility = "organization" in target
      ? ((await gh.getSecret(target, s.name))?.visibility ?? "private")
      : undefined;
    const selected = "organization" in target && visibility === "selected"
      ? await gh.listSelectedRepositoryIds(target.organization, s.name)
      : undefined;
    await gh.putSecret(target, s.name, {
      encrypted_value: encrypted,
      key_id: publicKey.key_id,
      ...(visibility ? { visibility } : {}),
      ...(selected ? { selected_repository_ids: selected } : {}),
    });
  },

  async holdsNewValue({ engine, rotation }, s) {
    const written = rotation.sink_written_at?.[githubActionsSecretSink.key(s)];
    if (!rotation.new_fingerprint || !written) return false;
    const secret = await client(engine).getSecret(targetOf(s), s.name);
    if (!secret) return false;
    return Date.parse(secret.updated_at) >= Math.floor(Date.parse(written) / 1000) * 1000 - CLOCK_SKEW_MS;
  },

  async preflight({ engine }, s, path) {
    if (!engine.github) {
      return {
        code: "github_not_configured",
        message:
          `The sink "${path}" is a GitHub Actions secret, and no GitHub credentials are configured (GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or GITHUB_TOKEN)`,
      };
    }
    try {
      await engine.github.getPublicKey(targetOf(s));
      return null;
    } catch (error) {
      return refusal(error, path);
    }
  },
};

function refusal(error: unknown, path: string): SinkRefusal {
  if (!isFailure(error, "github") || error.retryable) {
    return { code: "upstream_unavailable", message: "GitHub is unavailable; try again later" };
  }
  switch (error.detail.kind) {
    case "not_found":
      return {
        code: "sink_not_found",
        message:
          `The repository, environment or organization of "${path}" does not exist or is not visible to rekey's GitHub credentials`,
      };
    case "unauthorized":
    case "forbidden":
      return {
        code: "sink_unauthorized",
        message:
          `rekey's GitHub credentials may not use the Actions secrets of "${path}" (they need Secrets: read and write)`,
      };
    default:
      return { code: "upstream_rejected", message: `GitHub refused to read the public key of "${path}"` };
  }
}
