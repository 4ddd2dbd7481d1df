/**
 * Clarifai status codes the emulator speaks (the `StatusCode` enum of Clarifai's protos,
 * `proto/clarifai/api/status/status_code.proto`, https://github.com/Clarifai/clarifai-python-grpc) and the HTTP
 * status it pairs with each. Only 11008/11009 → 401 is observed; the rest are our choice (see emulator/README.md).
 */
export const STATUS = {
  SUCCESS: 10000,
  FAILURE: 10020,
  CONN_THROTTLED: 11005,
  CONN_EXCEED_HOURLY_LIMIT: 11003,
  CONN_INSUFFICIENT_SCOPES: 11007,
  CONN_KEY_INVALID: 11008,
  CONN_KEY_NOT_FOUND: 11009,
  CONN_BAD_REQUEST_FORMAT: 11100,
  CONN_DOES_NOT_EXIST: 11101,
  CONN_INVALID_REQUEST: 11102,
  CONN_METHOD_NOT_ALLOWED: 11103,
  DATABASE_DUPLICATE_KEY: 40010,
  INTERNAL_SERVER_ISSUE: 98004,
} as const;

export const DESCRIPTIONS: Record<number, string> = {
  10000: "Ok",
  10020: "Failure",
  11003: "Exceeded hourly limit",
  11005: "Making too many requests",
  11007: "API key has insufficient permissions",
  11008: "Invalid API key or Invalid API key/application pair",
  11009: "API key not found",
  11100: "Bad request format",
  11101: "Resource does not exist",
  11102: "Invalid request",
  11103: "Method not allowed",
  40010: "Object has a duplicate ID; another object with same ID already exist",
  98004: "Internal server issue",
};

export function httpStatusFor(code: number): number {
  if (code === 10000) return 200;
  if (code === 11008 || code === 11009) return 401;
  if (code === 11007) return 403;
  if (code === 11101) return 404;
  if (code === 11103) return 405;
  if (code === 11005 || code === 11003) return 429;
  if (code === 40010) return 409;
  if (code >= 98000) return 500;
  return 400;
}
