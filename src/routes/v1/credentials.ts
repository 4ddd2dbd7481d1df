/**
 * Admin API: the credential registry. Routes authenticate, validate and hand over; rotations run
 * after the response (the `defer` the entry point provides), so rotate and revoke answer 202 with
 * the rotation to poll at GET /v1/rotations/:id. Every change is an audit entry naming its actor
 * (`c.var.actor`: an Access identity or `admin-token`, src/http/admin-auth.ts).
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { AppEnv } from "../../app-env.ts";
import { registerCredential, registerInputSchema } from "../../core/credentials/register.ts";
import { undoRegistrationUpdate, updateInputSchema, updateRegistration } from "../../core/credentials/update.ts";
import type { EventData, EventType } from "../../core/bus/events.ts";
import { newEvent } from "../../core/bus/new-event.ts";
import { fingerprintPrefix } from "../../core/crypto/fingerprint.ts";
import { actorOfRequest } from "../../http/admin-auth.ts";
import type { RotationRequest } from "../../core/rotation/begin.ts";
import { requestRotation } from "../../core/rotation/request.ts";
import { readSettled, settleStaleMarker } from "../../core/rotation/settle.ts";
import type { Services } from "../../services.ts";
import { refused } from "../../http/on-error.ts";
import { beginError } from "../../http/begin-errors.ts";
import { credentialIdSchema } from "../../core/bus/fields.ts";
import { jsonBody, pathId, query } from "../../http/validate.ts";
import { credentialView, listQuerySchema, revokeBodySchema, rotateBodySchema, rotationView } from "./views.ts";

/** The `:id` of these routes; an id no credential can have is not found before storage is read. */
const credentialId = (c: Context<AppEnv>) =>
  pathId(c, credentialIdSchema, refused("credential_not_found", "No such credential"));

/** An admin action's audit entry: published once the change is stored. */
function publishAdmin<T extends EventType>(services: Services, type: T, data: EventData<T>, credentialId: string) {
  return services.bus.publish(
    newEvent(type, data, { source: "/rekey/admin", subject: `credential/${credentialId}`, now: services.now() }),
  );
}

async function startRotation(services: Services, credentialId: string, req: RotationRequest) {
  const begun = await requestRotation(services, credentialId, req, { source: "/rekey/admin" });
  if (!begun.ok) throw beginError(begun.code);
  return begun;
}

export const credentials = new Hono<AppEnv>()
  .post("/", async (c) => {
    const input = await jsonBody(c, registerInputSchema);
    const actor = actorOfRequest(c);
    const result = await registerCredential(await c.var.services.engine(), input);
    if (!result.ok) {
      const { code, message, credential_id } = result.error;
      throw refused(code, message, credential_id ? { credential_id } : undefined);
    }
    const rec = result.value;
    try {
      await publishAdmin(c.var.services, "credential.registered", {
        credential_id: rec.id,
        actor,
        kind: rec.kind,
        fingerprint_prefix: fingerprintPrefix(rec.fingerprint),
      }, rec.id);
    } catch (error) {
      // No registration without its audit entry: undone, so the caller's retry starts clean.
      await c.var.services.store.deleteCredential(rec.id);
      throw error;
    }
    return c.json({ credential: credentialView(rec) }, 201);
  })
  .get("/", async (c) => {
    const q = query(c, listQuerySchema);
    const page = await c.var.services.store.listCredentials({
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ credentials: page.items.map((rec) => credentialView(rec)), next_cursor: page.cursor ?? null });
  })
  .get("/:id", async (c) => {
    const id = credentialId(c);
    const found = await c.var.services.store.getCredential(id);
    if (!found) throw refused("credential_not_found", "No such credential");
    // As its rotation's settlement leaves it, when that rotation is over (core/rotation/settle.ts).
    const [{ rec }, reads] = await Promise.all([
      readSettled(c.var.services.store, found.value),
      c.var.services.reads ? c.var.services.reads.list(id) : [],
    ]);
    return c.json({ credential: credentialView(rec, reads) });
  })
  .delete("/:id", async (c) => {
    const id = credentialId(c);
    let found = await c.var.services.store.getCredential(id);
    // A marker naming a rotation that has settled is no running rotation: settled first (its release
    // and announcements, which need the records this delete removes), then read again.
    if (found?.value.current_rotation && (await settleStaleMarker(await c.var.services.engine(), found.value))) {
      found = await c.var.services.store.getCredential(id);
    }
    if (!found) throw refused("credential_not_found", "No such credential");
    if (found.value.current_rotation) {
      throw refused("rotation_running", "A rotation is running for this credential; wait for it to finish");
    }
    // Stops managing only: nothing is revoked at Clarifai, by design (the owner takes over). The
    // audit entry goes first: a delete that then fails leaves an entry, never a silent unmanage.
    await publishAdmin(c.var.services, "credential.unmanaged", {
      credential_id: id,
      actor: actorOfRequest(c),
      fingerprint_prefix: fingerprintPrefix(found.value.fingerprint),
    }, id);
    await c.var.services.store.deleteCredential(id);
    return c.json({ deleted: { id } });
  })
  .patch("/:id", async (c) => {
    const id = credentialId(c);
    const input = await jsonBody(c, updateInputSchema);
    const actor = actorOfRequest(c);
    const result = await updateRegistration(await c.var.services.engine(), id, input);
    if (!result.ok) {
      const { code, message, path } = result.error;
      throw refused(code, message, path ? { issues: [{ path, code: "custom" }] } : undefined);
    }
    const { record, before, fields } = result.value;
    if (fields.length > 0) {
      try {
        await publishAdmin(c.var.services, "credential.updated", { credential_id: id, actor, fields }, id);
      } catch (error) {
        // No change without its audit entry: undone, so the caller's retry starts clean (as POST).
        await undoRegistrationUpdate(await c.var.services.engine(), before, record, fields);
        throw error;
      }
    }
    return c.json({ credential: credentialView(record), updated: fields });
  })
  .post("/:id/rotate", async (c) => {
    const id = credentialId(c);
    const body = await jsonBody(c, rotateBodySchema, { optional: true });
    const begun = await startRotation(c.var.services, id, {
      reason: body.reason,
      mode: "rotate",
      requestedBy: actorOfRequest(c),
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
      requestedBy: actorOfRequest(c),
    });
    return c.json({ rotation: rotationView(begun.rotation), joined: begun.joined }, 202);
  });
