import * as z from "zod";

/** A Clarifai id (user, app, secret) as rekey accepts one: letters, digits, `_`, `.` and `-`. */
export const clarifaiIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, "must be a Clarifai id");
