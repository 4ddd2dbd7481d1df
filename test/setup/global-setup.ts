/**
 * Runs in Node before the suites: hosts one Clarifai emulator on loopback for every test file.
 * Files run in parallel against it, so each works under its own user id and scopes its faults to
 * its own paths; nothing here resets it between files.
 */
import type { TestProject } from "vitest/node";
import { startEmulatorServer } from "../../emulator/node/serve.ts";

export default async function setup(project: TestProject) {
  const server = await startEmulatorServer({ port: 0 });
  project.provide("emulatorUrl", server.url);
  return () => server.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    emulatorUrl: string;
  }
}
