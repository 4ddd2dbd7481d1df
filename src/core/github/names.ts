/**
 * GitHub's names, validated as GitHub validates them, so that a sink or a scope GitHub would
 * refuse is refused at registration (or at start) with a 4xx naming the field, and no name can
 * turn a call into another path (they are path segments; ./http.ts encodes them too).
 *
 * - Account (user or organization) logins: letters, digits and single hyphens, not at either end,
 *   at most 39 characters (GitHub's sign-up rule).
 * - Repository names: letters, digits, `.`, `-` and `_`, at most 100, not `.` or `..`.
 * - Actions secret names ("Naming your secrets"): letters, digits and underscores, not starting
 *   with a digit or with `GITHUB_` (names are case-insensitive, so neither with `github_`).
 * - Environment names: at most 255 characters (GitHub's limit); no control characters.
 *
 * Runtime-neutral: zod only.
 */
import * as z from "zod/mini";

const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

export const loginSchema = z.string().check(z.regex(LOGIN, "must be a GitHub account name"));
export const repositorySchema = z
  .string().check(
    z.maxLength(140),
    z.refine((v) => {
      const [owner, repo, ...rest] = v.split("/");
      return rest.length === 0 && LOGIN.test(owner ?? "") && REPO.test(repo ?? "");
    }, "must be owner/repo"),
  );
export const secretNameSchema = z
  .string().check(
    z.maxLength(255),
    z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "letters, digits and underscores, not starting with a digit"),
    z.refine((v) => !/^github_/i.test(v), "must not start with GITHUB_"),
  );
export const environmentSchema = z.string().check(
  z.minLength(1),
  z.maxLength(255),
  // deno-lint-ignore no-control-regex
  z.regex(/^[^\u0000-\u001f\u007f]+$/),
);

/** A backstop scope (GITHUB_ALERT_SCOPES): `owner/repo`, or `org:name`. Undefined when malformed. */
export function parseScope(entry: string): { repository: string } | { organization: string } | undefined {
  if (entry.startsWith("org:")) {
    const org = entry.slice(4);
    return LOGIN.test(org) ? { organization: org } : undefined;
  }
  return repositorySchema.safeParse(entry).success ? { repository: entry } : undefined;
}
