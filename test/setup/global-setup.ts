/**
 * Runs in Node before the suites: hosts one Clarifai emulator and one receiver (for Slack, Discord
 * and outbound webhooks) on loopback for every test file. Files run in parallel against them, so
 * each works under its own user id / receiver path and scopes its faults to its own paths.
 */
import type { TestProject } from "vitest/node";
import { startEmulatorServer } from "../../emulator/node/serve.ts";
import { startReceiver } from "./receiver.ts";
import { startGithubEmulatorServer } from "../../emulator/node/serve-github.ts";
import { generateKeyPairSync } from "node:crypto";

export default async function setup(project: TestProject) {
  const emulator = await startEmulatorServer({ port: 0 });
  const receiver = await startReceiver();
  project.provide("emulatorUrl", emulator.url);
  project.provide("receiverUrl", receiver.url);
  // A Discord application key pair made for this run: the Worker trusts the public half
  // (DISCORD_PUBLIC_KEY), tests sign interactions with the private half.
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  project.provide(
    "discordPublicKey",
    Buffer.from(publicKey.export({ format: "der", type: "spki" })).subarray(-32).toString("hex"),
  );
  project.provide(
    "discordPrivateKeyPkcs8",
    Buffer.from(privateKey.export({ format: "der", type: "pkcs8" })).toString("base64"),
  );
  // A GitHub App made for this run: the GitHub emulator trusts its public half, the Worker signs
  // with the private half (GITHUB_APP_PRIVATE_KEY), in the PKCS#1 PEM GitHub issues.
  const githubApp = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const github = await startGithubEmulatorServer({
    // Deliveries are signed with the Worker's GITHUB_WEBHOOK_SECRET (vitest.config.ts).
    webhook: { secret: "test-github-webhook-secret-0123456789" },
    app: { id: "1717", publicKeyPem: githubApp.publicKey.export({ type: "spki", format: "pem" }).toString() },
  });
  project.provide("githubUrl", github.url);
  project.provide("githubAppPrivateKey", githubApp.privateKey.export({ type: "pkcs1", format: "pem" }).toString());
  return async () => {
    await github.close();
    await emulator.close();
    await receiver.close();
  };
}

import "../support/provided-context.ts";
