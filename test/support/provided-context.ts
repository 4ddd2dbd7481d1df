// What test/setup/global-setup.ts provides to tests running inside workerd (`inject(name)`).
export {};
declare module "vitest" {
  export interface ProvidedContext {
    emulatorUrl: string;
    receiverUrl: string;
    /** Hex of the raw Ed25519 public key the Worker trusts as DISCORD_PUBLIC_KEY. */
    discordPublicKey: string;
    /** Base64 PKCS#8 of its private half, for signing test interactions. */
    discordPrivateKeyPkcs8: string;
    /** REKEY_SOAK=1 (npm run test:soak): the reliability suite's long run (test/reliability/soak.ts). */
    soak: boolean;
    /** The GitHub emulator (Node-hosted, libsodium opens what it receives) and the test App's PKCS#1 key. */
    githubUrl: string;
    githubAppPrivateKey: string;
    /** The text of .dev.vars.example (vitest.config.ts). */
    devVarsExample: string;
  }
}
