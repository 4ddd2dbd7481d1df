/**
 * The development-only secrets committed in .dev.vars.example (and the demo GitHub signing key,
 * whose private half is committed in scripts/lib/demo-github-key.ts). They are public: anyone who
 * has read the repository can sign alerts, open sealed values or call the admin API of a
 * deployment that uses them. `checkConfig` (./config-check.ts) refuses every one of them unless
 * `REKEY_DEV_MODE=true`.
 *
 * test/workers/dev-mode.test.ts reads .dev.vars.example and fails when a secret there is not
 * listed here.
 *
 * Runtime-neutral.
 */

/**
 * Per variable, what marks a committed value. Scalars match exactly (after trimming); structured
 * values (a key ring, a key list, a `whsec_` secret) match when they contain the committed key
 * material anywhere, so a deployment that kept the development key beside a real one, or
 * re-padded it, is refused too.
 */
export const DEV_SECRETS = {
  REKEY_ADMIN_TOKEN: { exact: ["dev-admin-token"] },
  REKEY_ENCRYPTION_KEYS: { contains: ["cmVrZXktZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktdjE"] },
  REKEY_FINGERPRINT_KEY: { contains: ["cmVrZXktZGV2LW9ubHktZmluZ2VycHJpbnQta2V5ISE"] },
  ALERT_WEBHOOK_SECRET: { contains: ["cmVrZXktZGV2LW9ubHktYWxlcnQtd2ViaG9vay1rZXk"] },
  // The demo GitHub key: its identifier, and the first line of its public key's base64.
  GITHUB_SECRET_SCANNING_KEYS: {
    contains: [
      "9d3f0ac14db538fa6b27ec20476b2117b7bf5fb914c0ba07ed72480ff7b2d19a",
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFz8Duv6Xnys2MjOky3HSeRy3A3d2",
    ],
  },
  SLACK_SIGNING_SECRET: { exact: ["dev-only-slack-signing-secret-not-for-production"] },
  GITHUB_WEBHOOK_SECRET: { exact: ["dev-only-github-webhook-secret-not-for-production"] },
  // The demo GitHub App's key (its private half is right there in .dev.vars.example): its first line.
  GITHUB_APP_PRIVATE_KEY: { contains: ["MIIEpAIBAAKCAQEAxos/UPOqkAnelqFOy9xkCLEDv9LQoqVwLHjkxIlTQzY0ulwI"] },
} as const satisfies Record<string, { exact?: readonly string[]; contains?: readonly string[] }>;

/** The variables of `env` that hold a committed development value. */
export function devSecretsIn(env: Record<string, string | undefined>): string[] {
  const found: string[] = [];
  for (
    const [name, marks] of Object.entries(DEV_SECRETS) as [
      string,
      { exact?: readonly string[]; contains?: readonly string[] },
    ][]
  ) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (marks.exact?.includes(value) || marks.contains?.some((m) => value.includes(m))) found.push(name);
  }
  return found;
}
