import { describe, expect, it } from "vitest";
import { MAX_COMMAND_TEXT, parseCommand } from "./commands.ts";

const ID = "cred_01jd8v0000000000000000000a";

describe("parseCommand", () => {
  it("parses every sub-command, case-insensitively, with surrounding space", () => {
    expect(parseCommand("")).toEqual({ ok: true, value: { name: "help" } });
    expect(parseCommand("  LIST ")).toEqual({ ok: true, value: { name: "list" } });
    expect(parseCommand("plan")).toEqual({ ok: true, value: { name: "plan" } });
    for (const name of ["status", "rotate", "revoke"] as const) {
      expect(parseCommand(`${name}   ${ID}`)).toEqual({ ok: true, value: { name, credentialId: ID } });
    }
  });

  it("refuses unknown sub-commands and malformed arguments without quoting them", () => {
    const leaked = "a".repeat(32);
    expect(parseCommand(`destroy ${ID}`)).toMatchObject({ ok: false, error: { code: "unknown_command" } });
    expect(parseCommand(leaked)).toMatchObject({ ok: false, error: { code: "unknown_command" } });
    for (
      const text of [
        "rotate",
        `rotate ${leaked}`,
        `revoke ${ID} ${ID}`,
        "list all",
        `status ${ID.toUpperCase()}`,
        "x".repeat(MAX_COMMAND_TEXT + 1),
      ]
    ) {
      const r = parseCommand(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).not.toContain(leaked);
    }
    expect(parseCommand(`rotate ${leaked}`)).toMatchObject({ ok: false, error: { code: "malformed_command" } });
  });
});
