import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
export default defineConfig({
  plugins: [cloudflareTest(({ inject }) => ({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: { bindings: { CLARIFAI_API_BASE: `http://127.0.0.1:${inject("emulatorPort")}` } },
  }))],
  test: { globalSetup: ["./test/setup/global-setup.ts"], include: ["test/workers/**/*.test.ts", "src/**/*.test.ts", "emulator/src/**/*.test.ts"] },
});
