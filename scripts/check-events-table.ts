/**
 * `npm run check:events` (part of `npm test`): ARCHITECTURE.md's events table lists, for every
 * event type, exactly the handlers src/core/subscribers/handlers.ts wires to it. A type's handlers
 * are the backquoted names in the row's last column; words in parentheses there are notes.
 */
import { readFileSync } from "node:fs";
import { eventTypes } from "../src/core/bus/events.ts";
import { handlerNames } from "../src/core/subscribers/handlers.ts";

const doc = readFileSync(new URL("../ARCHITECTURE.md", import.meta.url), "utf8");
const section = doc.split(/^## Events$/m)[1]?.split(/^## /m)[0] ?? "";
const rows = section.split("\n").filter((l) => l.startsWith("| `"));
const documented = new Map<string, string[]>();
const problems: string[] = [];
const ticks = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
for (const row of rows) {
  const cells = row.split("|").slice(1, -1);
  const handlers = ticks(cells.at(-1)!.replace(/\([^)]*\)/g, ""));
  for (const type of ticks(cells[0]!)) {
    if (documented.has(type)) problems.push(`"${type}" has two rows`);
    documented.set(type, handlers);
  }
}
for (const type of eventTypes) {
  const want = handlerNames(type).join(", ");
  const got = documented.get(type)?.join(", ");
  if (got === undefined) problems.push(`"${type}" has no row (handled by ${want})`);
  else if (got !== want) problems.push(`"${type}" is handled by ${want} in the code, ${got} in ARCHITECTURE.md`);
}
for (const type of documented.keys()) {
  if (!(eventTypes as readonly string[]).includes(type)) {
    problems.push(`"${type}" is in ARCHITECTURE.md but is no event type`);
  }
}
if (problems.length > 0) {
  console.error(
    `ARCHITECTURE.md's events table and src/core/subscribers/handlers.ts differ:\n  ${problems.join("\n  ")}`,
  );
  process.exit(1);
}
console.log(`Events table matches the handlers of ${eventTypes.length} event types`);
