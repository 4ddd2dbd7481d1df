/**
 * Where a rotation delivers the new value besides Clarifai itself: one zod schema per sink type,
 * their union, and the stable key a rotation records for each sink it has written
 * (`rotation.propagated`). Each type's behaviour lives in its own file beside this one.
 */
import * as z from "zod";
import { clarifaiIdSchema } from "../clarifai/ids.ts";

const clarifaiSecretSinkSchema = z.strictObject({
  type: z.literal("clarifai_secret"),
  user_id: clarifaiIdSchema,
  secret_id: clarifaiIdSchema,
});
export type ClarifaiSecretSink = z.infer<typeof clarifaiSecretSinkSchema>;

export const sinkSchema = z.discriminatedUnion("type", [clarifaiSecretSinkSchema]);
export type Sink = z.infer<typeof sinkSchema>;
