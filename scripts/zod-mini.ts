/**
 * `npm run zod:mini [files...]`: rewrites classic zod in src/ (method chains such as
 * `z.string().min(1).max(64).optional()`) into zod/mini's functional forms
 * (`z.optional(z.string().check(z.minLength(1), z.maxLength(64)))`) and the import to "zod/mini".
 * For branches written against classic zod that merge after issue 20 (P3) moved src/ to mini:
 * run it after the merge, then `npm run typecheck` names what it could not see (a method called on
 * a schema returned by a function, say), to convert by hand. test/workers/runtime-boundary.test.ts
 * fails while any classic import is left.
 *
 * The rewrites are the calls classic's methods make internally, so checks, issue codes and the
 * JSON Schema stay the same: `.min/.max` are `z.minLength/z.maxLength` on strings and arrays and
 * `z.gte/z.lte` on numbers (told apart by the chain's root, `z.number()` / `z.int()` /
 * `z.coerce.number()`, or a schema variable's); `.int()` is `.check(z.int())`; `.default(v)` is
 * `z._default(x, v)`; `.transform(f)` is `z.pipe(x, z.transform(f))`. What counts as a schema: a
 * `z.*()` call, a chain on one, or a `const` (in any of the files) initialised with one.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { parseSync } from "oxc-parser";

// deno-lint-ignore no-explicit-any
type Node = any;

const CHECKS = new Set([
  "max",
  "min",
  "length",
  "regex",
  "int",
  "positive",
  "nonnegative",
  "trim",
  "toLowerCase",
  "startsWith",
  "endsWith",
  "refine",
  "datetime",
  "meta",
  "describe",
]);
const WRAPS = new Set(["optional", "nullable", "default", "catch", "array", "transform", "pipe", "partial", "extend"]);

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : execFileSync("git", ["grep", "-lE", `from "zod(/mini)?"`, "--", "src"], { encoding: "utf8" }).trim().split("\n");
const sources = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));
const programs = new Map<string, Node>();
for (const [f, text] of sources) {
  const parsed = parseSync(f, text, { lang: f.endsWith(".tsx") ? "tsx" : "ts" });
  if (parsed.errors.length) throw new Error(`${f}: ${parsed.errors[0]!.message}`);
  // The program's span starts at its first statement; the leading comments belong to it too.
  programs.set(f, { ...parsed.program, start: 0, end: text.length });
}

/** Schema variables by name: "number" for numeric schemas (their min/max are gte/lte), else "other". */
const schemas = new Map<string, string>();
/** Functions whose body is a schema expression (`const prefixedId = (p) => z.string()...`): their calls are schemas. */
const factories = new Map<string, string>();

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const v of Object.values(node)) {
    for (const c of Array.isArray(v) ? v : [v]) {
      if (c && typeof c === "object" && typeof c.type === "string" && typeof c.start === "number") out.push(c);
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

const unwrap = (n: Node): Node =>
  n.type === "ParenthesizedExpression" || n.type === "TSAsExpression" || n.type === "TSSatisfiesExpression"
    ? unwrap(n.expression)
    : n;
const isZ = (n: Node) => n.type === "Identifier" && n.name === "z";
const isMethodCall = (n: Node) =>
  n.type === "CallExpression" && n.callee.type === "MemberExpression" && !n.callee.computed;

/** The kind of a zod schema expression ("number" | "other"), or undefined if it is not one. */
function kindOf(node: Node): string | undefined {
  const n = unwrap(node);
  if (n.type === "Identifier") return schemas.get(n.name);
  if (n.type === "CallExpression" && n.callee.type === "Identifier") return factories.get(n.callee.name);
  if (!isMethodCall(n)) return undefined;
  const receiver = unwrap(n.callee.object);
  const name: string = n.callee.property.name;
  if (isZ(receiver)) return name === "number" || name === "int" ? "number" : "other";
  if (receiver.type === "MemberExpression" && isZ(receiver.object)) return name === "number" ? "number" : "other";
  const k = kindOf(receiver);
  if (k === undefined) return undefined;
  // `.check()`, `.register()` and `.brand()` are mini's too: kept as written, the schema's kind kept.
  if (CHECKS.has(name) || name === "check" || name === "register" || name === "brand") return k;
  if (WRAPS.has(name)) return "other";
  return undefined;
}

function walk(node: Node, visit: (n: Node) => void) {
  visit(node);
  for (const c of children(node)) walk(c, visit);
}

// Schema variables, to a fixed point (one may be declared from another, in any file).
for (let changed = true; changed;) {
  changed = false;
  for (const program of programs.values()) {
    walk(program, (n) => {
      if (n.type !== "VariableDeclarator" || n.id.type !== "Identifier" || !n.init) return;
      const init = unwrap(n.init);
      const arrow = init.type === "ArrowFunctionExpression" && init.expression;
      const k = kindOf(arrow ? init.body : init);
      const table = arrow ? factories : schemas;
      if (k !== undefined && table.get(n.id.name) !== k) {
        table.set(n.id.name, k);
        changed = true;
      }
    });
  }
}

function checkOf(name: string, args: string[], kind: string): string[] {
  const a = args.join(", ");
  const numeric = kind === "number";
  switch (name) {
    case "max":
      return [numeric ? `z.lte(${a})` : `z.maxLength(${a})`];
    case "min":
      return [numeric ? `z.gte(${a})` : `z.minLength(${a})`];
    case "trim":
    case "toLowerCase":
      return [`z.${name}()`];
    case "datetime":
      return [`z.iso.datetime(${a})`];
    default: // length, regex, int, positive, nonnegative, startsWith, endsWith, refine, meta, describe
      return [`z.${name}(${a})`];
  }
}

interface Chain {
  base: string;
  checks: string[];
}
const flush = (c: Chain) => (c.checks.length ? `${c.base}.check(${c.checks.join(", ")})` : c.base);

/** A chain whose trailing checks stay open, so that consecutive ones merge into one `.check()`. */
function chain(text: string, node: Node): Chain {
  const n = unwrap(node);
  if (isMethodCall(n) && CHECKS.has(n.callee.property.name)) {
    const k = kindOf(n.callee.object);
    if (k !== undefined) {
      const c = chain(text, n.callee.object);
      c.checks.push(...checkOf(n.callee.property.name, n.arguments.map((a: Node) => gen(text, a)), k));
      return c;
    }
  }
  return { base: gen(text, node), checks: [] };
}

function gen(text: string, node: Node): string {
  if (isMethodCall(node)) {
    const name: string = node.callee.property.name;
    const receiver = unwrap(node.callee.object);
    // z.object({...}).loose() / .strict(): mini's z.looseObject / z.strictObject.
    if (
      (name === "loose" || name === "strict") && isMethodCall(receiver) && isZ(receiver.callee.object) &&
      receiver.callee.property.name === "object"
    ) {
      return `z.${name}Object(${receiver.arguments.map((a: Node) => gen(text, a)).join(", ")})`;
    }
    const k = kindOf(node.callee.object);
    if (k !== undefined && (CHECKS.has(name) || WRAPS.has(name))) {
      if (CHECKS.has(name)) return flush(chain(text, node));
      const base = flush(chain(text, node.callee.object));
      const args = node.arguments.map((a: Node) => gen(text, a));
      const rest = args.length ? `, ${args.join(", ")}` : "";
      switch (name) {
        case "default":
          return `z._default(${base}${rest})`;
        case "transform":
          return `z.pipe(${base}, z.transform(${args.join(", ")}))`;
        default: // optional, nullable, catch, array, pipe, partial, extend
          return `z.${name}(${base}${rest})`;
      }
    }
  }
  let out = "";
  let at = node.start;
  for (const c of children(node)) {
    if (c.start < at) continue;
    out += text.slice(at, c.start) + gen(text, c);
    at = c.end;
  }
  return out + text.slice(at, node.end);
}

let changed = 0;
for (const [f, text] of sources) {
  const out = gen(text, programs.get(f))
    .replace(/from "zod";/g, 'from "zod/mini";')
    .replace(/\bz\.ZodType\b/g, "z.ZodMiniType")
    .replace(/\bz\.ZodError\b/g, "z.core.$ZodError");
  if (out !== text) {
    writeFileSync(f, out);
    changed++;
  }
}
console.log(`zod/mini: ${changed} of ${files.length} files rewritten; now run npm run typecheck`);
