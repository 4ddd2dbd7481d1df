/**
 * The `/rekey` sub-commands, parsed from the text a user typed (Slack) or from an application
 * command's options (Discord, which the route turns into the same text). One grammar for both
 * platforms, so they cannot drift apart.
 *
 * Runtime-neutral: web APIs only.
 *
 * @module
 */
import { err, type ErrorValue, ok, type Result } from "../result.ts";

export type ChatCommand =
  | { name: "help" }
  | { name: "list" }
  | { name: "plan" }
  | { name: "status" | "rotate" | "revoke"; credentialId: string };

export type CommandError = ErrorValue<"unknown_command" | "malformed_command">;

/** Longest command text accepted; a credential id is 31 characters, so this is generous. */
export const MAX_COMMAND_TEXT = 200;

const CREDENTIAL_ID = /^cred_[0-9a-z]{1,26}$/;
const WITH_ID = new Set(["status", "rotate", "revoke"]);
const WITHOUT_ID = new Set(["help", "list", "plan"]);

/** Usage lines, shown by `help` and after a malformed command. */
export const USAGE = [
  "`/rekey list`: managed credentials with age, state and next action",
  "`/rekey status <credential id>`: current rotation and last events",
  "`/rekey rotate <credential id>`: replace the value, then revoke the old one",
  "`/rekey revoke <credential id>`: revoke the value at Clarifai (asks for confirmation)",
  "`/rekey plan`: what the next cron sweep would do",
  "`/rekey help`: this list",
];

/**
 * Parses `text` (whitespace-separated, case-insensitive sub-command). Empty text is `help`.
 * Error messages quote no user input: a user may paste a token by mistake.
 */
export function parseCommand(text: string): Result<ChatCommand, CommandError> {
  if (text.length > MAX_COMMAND_TEXT) {
    return err({
      code: "malformed_command",
      message: `Cannot run the command: it is longer than ${MAX_COMMAND_TEXT} characters`,
    });
  }
  const words = text.trim().split(/\s+/).filter(Boolean);
  const name = (words[0] ?? "help").toLowerCase();
  const args = words.slice(1);
  if (WITHOUT_ID.has(name)) {
    if (args.length > 0) {
      return err({ code: "malformed_command", message: `Cannot run "${name}": it takes no arguments` });
    }
    return ok({ name: name as "help" | "list" | "plan" });
  }
  if (WITH_ID.has(name)) {
    if (args.length !== 1 || !CREDENTIAL_ID.test(args[0]!)) {
      return err({ code: "malformed_command", message: `Cannot run "${name}": it takes one credential id (cred_…)` });
    }
    return ok({ name: name as "status" | "rotate" | "revoke", credentialId: args[0]! });
  }
  return err({ code: "unknown_command", message: "Unknown sub-command; try `/rekey help`" });
}
