import * as z from "zod/mini";

/** A Clarifai id (user, app, secret) as rekey accepts one: letters, digits, `_`, `.` and `-`. */
export const clarifaiIdSchema = z.string().check(
  z.minLength(1),
  z.maxLength(128),
  z.regex(/^[A-Za-z0-9_.-]+$/, "must be a Clarifai id"),
);
