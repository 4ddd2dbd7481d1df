/**
 * Admin API: the credential registry. Routes authenticate, validate and hand over; rotations run
 * after the response (the `defer` the entry point provides), so rotate and revoke answer 202 with
 * the rotation to poll at GET /v1/rotations/:id.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { AppEnv } from "../../app-env.ts";
import { registerCredential, registerInputSchema } from "../../core/credentials/register.ts";
import type { RotationRequest } from "../../core/rotation/begin.ts";
import { requestRotation } from "../../core/rotation/request.ts";
import type { Services } from "../../services.ts";
import { refused } from "../../http/on-error.ts";
import { beginError } from "../../http/begin-errors.ts";
import { credentialIdSchema } from "../../core/bus/fields.ts";
import { jsonBody, pathId, query } from "../../http/validate.ts";
import { credentialView, listQuerySchema, revokeBodySchema, rotateBodySchema, rotationView } from "./views.ts";

/** The `:id` of these routes; an id no credential can have is not found before storage is read. */
const credentialId = (c: Context<AppEnv>) =>
  pathId(c, credentialIdSchema, refused("credential_not_found", "No such credential"));

async function startRotation(services: Services, credentialId: string, req: RotationRequest) {
  const begun = await requestRotation(services, credentialId, req, { source: "/rekey/admin" });
  if (!begun.ok) throw beginError(begun.code);
  return begun;
}

export const credentials = new Hono<AppEnv>()
  .post("/", async (c) => {
    const input = await jsonBody(c, registerInputSchema);
    const result = await registerCredential(await c.var.services.engine(), input);
    if (!result.ok) {
      const { code, message, credential_id } = result.error;
      throw refused(code, message, credential_id ? { credential_id } : undefined);
    }
    return c.json({ credential: credentialView(result.value) }, 201);
  })
  .get("/", async (c) => {
    const q = query(c, listQuerySchema);
    const page = await c.var.services.store.listCredentials({
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ credentials: page.items.map(credentialView), next_cursor: page.cursor ?? null });
  })
  .get("/:id", async (c) => {
    const found = await c.var.services.store.getCredential(credentialId(c));
    if (!found) throw refused("credential_not_found", "No such credential");
    return c.json({ credential: credentialView(found.value) });
  })
  .delete("/:id", async (c) => {
    const id = credentialId(c);
    const found = await c.var.services.store.getCredential(id);
    if (!found) throw refused("credential_not_found", "No such credential");
    if (found.value.current_rotation) {
      throw refused("rotation_running", "A rotation is running for this credential; wait for it to finish");
    }
    // Stops managing only: nothing is revoked at Clarifai, by design (the owner takes over).
    await c.var.services.store.deleteCredential(id);
    return c.json({ deleted: { id } });
  })
  .post("/:id/rotate", async (c) => {
    const id = credentialId(c);
    const body = await jsonBody(c, rotateBodySchema, { optional: true });
    const begun = await startRotation(c.var.services, id, {
      reason: body.reason,
      mode: "rotate",
      requestedBy: "admin",
      ...(body.value !== undefined ? { newValue: body.value } : {}),
    });
    return c.json({ rotation: rotationView(begun.rotation), joined: begun.joined }, 202);
  })
  .post("/:id/revoke", async (c) => {
    const id = credentialId(c);
    const body = await jsonBody(c, revokeBodySchema, { optional: true });
    const begun = await startRotation(c.var.services, id, {
      reason: body.reason,
      mode: "revoke",
      requestedBy: "admin",
    });
    return c.json({ rotation: rotationView(begun.rotation), joined: begun.joined }, 202);
  });
