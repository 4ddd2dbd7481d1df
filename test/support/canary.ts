/**
 * The canary check: every secret value a test file uses is collected, everything the Worker said
 * (responses, headers, log lines, plus whatever else the file adds) is collected, and at the end no
 * secret may appear in any of it.
 */
import { expect, vi } from "vitest";
import { responses } from "./api.ts";

export function canary() {
  const secrets: string[] = [];
  const logs: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[level].bind(console);
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(" "));
      original(...args);
    });
  }
  return {
    secrets,
    logs,
    /** Fails if any secret appears in a response, a header, a log line or `extra`. */
    assertClean(extra: string[] = [], minSecrets = 5) {
      expect(secrets.length).toBeGreaterThan(minSecrets);
      const haystack = [...responses.map((r) => r.text + JSON.stringify(r.headers)), ...logs, ...extra].join("\n");
      for (const s of secrets) expect(haystack.includes(s), "a secret value leaked").toBe(false);
    },
  };
}
