/**
 * `npm run check:openapi` (part of `npm test`): GET /openapi.json validates against the OpenAPI 3.1
 * meta-schema, and every documented example validates against the JSON Schema generated for it
 * (Ajv, JSON Schema 2020-12, as OpenAPI 3.1 uses). Runs in Node: Ajv compiles validators to code,
 * which workerd does not allow; the document itself is runtime-neutral.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { openApiDocument } from "../src/openapi/document.ts";

const doc = openApiDocument() as unknown as { openapi: string; paths: Record<string, Record<string, any>> };
const validator = new Validator();
const res = await validator.validate(doc as Record<string, unknown>);
if (!res.valid || validator.version !== "3.1") {
  console.error(
    `openapi.json is not a valid OpenAPI 3.1 document (read as ${validator.version}):`,
    JSON.stringify(res.errors, null, 2),
  );
  process.exit(1);
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is CommonJS: its default export arrives wrapped under tsx's ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv2020,
) => void;
addFormats(ajv);
let examples = 0;
const failures: string[] = [];
for (const [path, ops] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const media = [
      ...Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => [`request ${type}`, m] as const),
      ...Object.entries(op.responses ?? {}).flatMap(([status, r]: [string, any]) =>
        Object.entries(r.content ?? {}).map(([type, m]) => [`${status} ${type}`, m] as const)
      ),
    ] as Array<readonly [string, { schema?: object; example?: unknown }]>;
    for (const [where, m] of media) {
      if (m.example === undefined || !m.schema) continue;
      examples++;
      const validate = ajv.compile(m.schema);
      if (!validate(m.example)) {
        failures.push(`${method.toUpperCase()} ${path} ${where}: ${ajv.errorsText(validate.errors)}`);
      }
    }
  }
}
if (failures.length) {
  console.error(`Documented examples that do not match their schema:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log(
  `openapi.json: valid OpenAPI ${validator.version}, ${
    Object.keys(doc.paths).length
  } paths, ${examples} examples valid`,
);
