/**
 * Re-keying rekey's own master key: POST starts (or resumes) moving every sealed value to the
 * newest REKEY_ENCRYPTION_KEYS version through the bus; GET shows the job's progress.
 * See core/maintenance/reencrypt-job.ts and the README's "Rotating rekey's own keys".
 */
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { reencryptJobSchema } from "../../core/maintenance/job.ts";
import { REENCRYPT_BATCH_SIZE, startReencrypt } from "../../core/maintenance/reencrypt-job.ts";
import { jsonBody } from "../../http/validate.ts";
import { actorOfRequest } from "../../http/admin-auth.ts";

export const reencryptBodySchema = z.strictObject({
  /**
   * Records per batch (one bus message each). Smaller batches use fewer subrequests and less CPU
   * per invocation: past the default, a batch can exceed the Free plan's 10 ms and 50 subrequests.
   */
  batch_size: z._default(z.number().check(z.int(), z.gte(1), z.lte(500)), REENCRYPT_BATCH_SIZE),
});

export const reencryptStatusSchema = z.strictObject({
  job: z.nullable(reencryptJobSchema),
  /** The version that seals new values now. */
  current_version: z.number().check(z.int()),
  versions: z.array(z.number().check(z.int())),
});

export const reencryptStartedSchema = z.strictObject({
  job: reencryptJobSchema,
  /** "resumed": a job was already running; its batch at the saved cursor was published again. */
  outcome: z.enum(["started", "resumed"]),
});

export const maintenance = new Hono<AppEnv>()
  .post("/reencrypt", async (c) => {
    const body = await jsonBody(c, reencryptBodySchema, { optional: true });
    const services = c.var.services;
    const started = await startReencrypt(services, await services.engine(), actorOfRequest(c), body.batch_size);
    return c.json(started, 202);
  })
  .get("/reencrypt", async (c) => {
    const services = c.var.services;
    const { keyring } = await services.engine();
    const job = await services.jobs.getJob();
    return c.json({
      job: job?.value ?? null,
      current_version: keyring.currentVersion,
      versions: [...keyring.versions],
    });
  });
