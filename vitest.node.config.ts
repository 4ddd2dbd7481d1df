/**
 * Tests that must run in Node (`npm run test:node`, part of `npm test`): the GitHub emulator and
 * rekey's GitHub client checked against GitHub's own artefacts, which do not run inside workerd:
 * libsodium (`libsodium-wrappers` instantiates WebAssembly from bytes, which workerd forbids), the
 * OpenAPI description (`@octokit/openapi`, 13 MB, validated with Ajv) and `@octokit/rest`.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
