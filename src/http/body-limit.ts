import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { MiddlewareHandler } from "hono";
import { refused } from "./on-error.ts";

/**
 * Body size limit for every route. Hono's bodyLimit checks Content-Length and also counts a
 * streamed body, so a lying or missing Content-Length cannot get past it.
 */
export const bodyLimit = (maxBytes: number): MiddlewareHandler =>
  honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw refused("payload_too_large", `Request body is larger than ${maxBytes} bytes`);
    },
  });
