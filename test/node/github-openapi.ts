/**
 * GitHub's own OpenAPI description of api.github.com (`@octokit/openapi`, generated from GitHub's
 * published rest-api-description), as validators: an answer of the emulator (or a payload it
 * delivers) must match the schema GitHub documents for that operation, status and content type.
 * OpenAPI 3.0 schemas are JSON Schema draft-04 plus `nullable`, which Ajv reads; the whole
 * document is added under one id, so GitHub's internal `$ref`s resolve as written.
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { readFileSync } from "node:fs";

const SPEC_FILE = new URL("../../node_modules/@octokit/openapi/generated/api.github.com.json", import.meta.url);
const spec = JSON.parse(readFileSync(SPEC_FILE, "utf8")) as {
  info: { version: string };
  paths: Record<
    string,
    Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> }>
  >;
  components: { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
};
export const githubSpecVersion = spec.info.version;

/**
 * OpenAPI 3.0's `nullable` also admits null where an `enum` lists no null, and appears without a
 * `type` (meaning nothing); Ajv reads it strictly, so both are spelled out first.
 */
function normalise(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(normalise);
  if (typeof node !== "object" || node === null) return;
  const o = node as Record<string, unknown>;
  if (o.nullable === true) {
    if (o.type === undefined) delete o.nullable;
    else if (Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
  }
  for (const v of Object.values(o)) normalise(v);
}
normalise(spec);

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
// ajv-formats is CommonJS: its default export may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv,
) => void;
addFormats(ajv);
ajv.addSchema({ ...spec, $id: "gh" });

const pointer = (...parts: string[]) =>
  parts.map((p) => encodeURIComponent(p.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");
const cache = new Map<string, ValidateFunction>();

function compile(ref: string): ValidateFunction {
  let v = cache.get(ref);
  if (!v) cache.set(ref, v = ajv.compile({ $ref: ref }));
  return v;
}

/** Errors (empty: valid) of `body` against GitHub's schema for `method path` answering `status`. */
export function responseErrors(method: string, path: string, status: number, body: unknown): string[] {
  const op = spec.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`GitHub documents no ${method} ${path}`);
  const res = op.responses[String(status)];
  if (!res) {
    // An error GitHub does not list for this operation (401 is listed for almost none): its basic error body.
    if (status >= 400) return errorsOf(compile("gh#/components/schemas/basic-error"), body);
    throw new Error(`GitHub documents no ${status} answer to ${method} ${path}`);
  }
  let ref: string;
  if (res.$ref) {
    const name = res.$ref.split("/").pop()!;
    if (!spec.components.responses[name]?.content?.["application/json"]) {
      return body === "" || body === undefined ? [] : ["no body expected"];
    }
    ref = `gh#/${pointer("components", "responses", name, "content", "application/json", "schema")}`;
  } else {
    if (!res.content?.["application/json"]) return [];
    ref = `gh#/${
      pointer("paths", path, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema")
    }`;
  }
  return errorsOf(compile(ref), body);
}

const errorsOf = (validate: ValidateFunction, body: unknown) =>
  validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

/** Errors of a webhook payload against GitHub's schema for it, e.g. `webhook-secret-scanning-alert-created`. */
export function webhookErrors(schemaName: string, payload: unknown): string[] {
  return errorsOf(compile(`gh#/components/schemas/${schemaName}`), payload);
}
