/**
 * Writes GET /openapi.json's document (src/openapi/document.ts) to build/assets/openapi.json, the
 * Worker's static asset. wrangler runs this before every build ([build] in wrangler.toml: deploy,
 * dev, the dry run of `npm test`), and vitest.config.ts runs it too, so the asset is always made from
 * the routes' zod schemas of the tree being built and is never committed.
 *
 * Why an asset: the generator (zod's toJSONSchema, the route table and its examples) is 3.8 KB of
 * the Worker's gzip size, and a document compiled into the script would cost more (6.3 KB gzip).
 * Static assets do not count toward the script size. Deno generates the document on first use
 * instead (src/deno.ts): it has no script size to keep small.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openApiDocument } from "../src/openapi/document.ts";

export const OPENAPI_ASSET = resolve(dirname(fileURLToPath(import.meta.url)), "../build/assets/openapi.json");

export function writeOpenApiAsset(): void {
  mkdirSync(dirname(OPENAPI_ASSET), { recursive: true });
  // The same bytes c.json() wrote when the Worker generated the document per request.
  writeFileSync(OPENAPI_ASSET, JSON.stringify(openApiDocument()));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) writeOpenApiAsset();
