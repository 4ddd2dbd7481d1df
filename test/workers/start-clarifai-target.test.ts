/**
 * `npm start`'s choice of Clarifai (scripts/lib/clarifai-target.ts), as pure logic: which
 * emulator port, and whether the emulator runs, from .dev.vars and the command's environment.
 * The browser test (test/browser/dashboard.test.ts) runs the whole of `npm start` on other ports.
 */
import { describe, expect, it } from "vitest";
import { clarifaiTarget } from "../../scripts/lib/clarifai-target.ts";

const example = { CLARIFAI_API_BASE: "http://127.0.0.1:8788" };

describe("npm start's Clarifai (pure logic)", () => {
  it("runs the emulator on 8788 by default, as .dev.vars.example says", () => {
    expect(clarifaiTarget(example, {})).toMatchObject({ emulatorPort: 8788, useEmulator: true });
    expect(clarifaiTarget({}, {})).toMatchObject({ emulatorPort: 8788, useEmulator: true });
  });

  it("with EMULATOR_PORT set, runs the emulator there and points rekey at it, whatever .dev.vars.example's default says", () => {
    expect(clarifaiTarget(example, { EMULATOR_PORT: "9911" })).toMatchObject({ emulatorPort: 9911, useEmulator: true });
    expect(clarifaiTarget({}, { EMULATOR_PORT: "9911" })).toMatchObject({ emulatorPort: 9911, useEmulator: true });
  });

  it("keeps an explicit CLARIFAI_API_BASE: the environment's, or a real Clarifai in .dev.vars", () => {
    expect(clarifaiTarget(example, { EMULATOR_PORT: "9911", CLARIFAI_API_BASE: "https://api.clarifai.com" })).toEqual({
      emulatorPort: 9911,
      useEmulator: false,
      apiBase: "https://api.clarifai.com",
    });
    expect(clarifaiTarget(example, { EMULATOR_PORT: "9911", CLARIFAI_API_BASE: "http://127.0.0.1:9911" }))
      .toMatchObject({ useEmulator: true });
    expect(clarifaiTarget(example, { CLARIFAI_API_BASE: "http://127.0.0.1:9000" })).toMatchObject({
      useEmulator: false,
      apiBase: "http://127.0.0.1:9000",
    });
    expect(clarifaiTarget({ CLARIFAI_API_BASE: "https://api.clarifai.com" }, { EMULATOR_PORT: "9911" })).toEqual({
      emulatorPort: 9911,
      useEmulator: false,
      apiBase: "https://api.clarifai.com",
    });
  });
});
