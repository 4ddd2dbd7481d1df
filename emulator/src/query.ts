/**
 * Query-string values as Clarifai's gateway reads them. Clarifai serves REST through grpc-gateway,
 * which parses a `bool` field with Go's `strconv.ParseBool` ("1", "t", "T", "TRUE", "true", "True",
 * "0", "f", "F", "FALSE", "false", "False"; https://pkg.go.dev/strconv#ParseBool). Clarifai's
 * official JSON client sends `str(True)`, i.e. `True` (Clarifai/clarifai-python-grpc,
 * clarifai_grpc/channel/http_client.py, `_encode_get_params`), so accepting only `true` would make
 * the emulator ignore a filter the real API applies.
 */
import { ClarifaiFailure } from "./envelope.ts";

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** The boolean query parameter `name`; absent is false, anything ParseBool refuses is 11100. */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || FALSE.has(raw)) return false;
  if (TRUE.has(raw)) return true;
  throw new ClarifaiFailure(11100, `Invalid boolean for "${name}"`);
}
