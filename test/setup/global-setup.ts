/**
 * Runs in Node before the suites: hosts one Clarifai emulator and one receiver (for Slack, Discord
 * and outbound webhooks) on loopback for every test file. Files run in parallel against them, so
 * each works under its own user id / receiver path and scopes its faults to its own paths.
 */
import type { TestProject } from "vitest/node";
import { startEmulatorServer } from "../../emulator/node/serve.ts";
import { startReceiver } from "./receiver.ts";

export default async function setup(project: TestProject) {
  const emulator = await startEmulatorServer({ port: 0 });
  const receiver = await startReceiver();
  project.provide("emulatorUrl", emulator.url);
  project.provide("receiverUrl", receiver.url);
  return async () => {
    await emulator.close();
    await receiver.close();
  };
}

import "../support/provided-context.ts";
