/**
 * The dashboard in a real browser (`npm run test:browser`): plain vitest in Node, no workerd
 * plugin. The test starts its own `npm start` stack on free ports and drives Debian's Chromium
 * with playwright-core; see test/browser/dashboard.test.ts.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    // wrangler dev's first start (bundle + workerd) takes a while on a busy 2-core machine.
    hookTimeout: 240_000,
    testTimeout: 180_000,
  },
});
