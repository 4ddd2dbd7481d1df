/**
 * GET /ui: the status dashboard, server-rendered with hono/jsx. No script runs in the browser:
 * every action is a link or a form, confirmations are pages, and the CSP forbids scripts anyway.
 * What a page shows comes from the same safe views as the admin API (routes/v1/views.ts), so no
 * secret value, sealed or not, can reach a page.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { requireConfig } from "../config.ts";
import { timingSafeEqualDigest } from "../core/crypto/timing-safe-equal.ts";
import { planSweepReport } from "../core/sweep/plan.ts";
import { buildSummary, registryFigures } from "../core/summary/summary.ts";
import { startReencrypt } from "../core/maintenance/reencrypt-job.ts";
import { behind, MaintenancePage, ReencryptConfirmPage } from "./maintenance-page.tsx";
import { credentialIdSchema } from "../core/bus/fields.ts";
import { refused } from "../http/on-error.ts";
import { accessIdentity, accessRequired } from "../http/access.ts";
import { ADMIN_TOKEN_ACTOR } from "../core/audit/actor.ts";
import { beginError } from "../http/begin-errors.ts";
import { describeError } from "../http/on-error.ts";
import { formBody, query } from "../http/validate.ts";
import { credentialView, rotationView } from "../routes/v1/views.ts";
import { startFromUi } from "./actions.ts";
import { ConfirmPage } from "./confirm-page.tsx";
import { newestAudit } from "../core/audit/newest.ts";
import { renderSignedIn } from "./layout.tsx";
import { CredentialPage } from "./credential-page.tsx";
import { CredentialsPage } from "./credentials-page.tsx";
import type { UiEnv } from "./env.ts";
import { ErrorPage } from "./error-page.tsx";
import {
  clearSessionCookie,
  requireCsrf,
  requireSession,
  sameOriginOnly,
  sessionCookie,
  setSessionCookie,
  signedIn,
} from "./guard.ts";
import { noStore, uiSecureHeaders } from "./headers.ts";
import { nextActions } from "../core/sweep/next-actions.ts";
import { PlanPage } from "./plan-page.tsx";
import { type FailedRow, type InFlightRow, RotationsPage } from "./rotations-page.tsx";
import {
  credentialPageQuerySchema,
  emptyQuerySchema,
  listPageQuerySchema,
  maintenanceQuerySchema,
  reencryptFormSchema,
  signInFormSchema,
  signInQuerySchema,
  signOutFormSchema,
  startFormSchema,
} from "./schemas.ts";
import { issueSession, readSession, uiKeys } from "./session.ts";
import { readSettled } from "../core/rotation/settle.ts";
import { SignInPage } from "./sign-in-page.tsx";

type Ctx = Context<UiEnv>;

async function html(c: Ctx, page: unknown, status: ContentfulStatusCode = 200): Promise<Response> {
  const rendered = await page;
  return c.html(`<!doctype html>${renderSignedIn(c.var.actor, () => String(rendered))}`, status);
}

const nonce = (c: Ctx) => c.var.secureHeadersNonce ?? "";
const credentialId = (c: Ctx) => {
  const parsed = credentialIdSchema.safeParse(c.req.param("id"));
  if (!parsed.success) throw refused("invalid_request", "The credential id is malformed");
  return parsed.data;
};

/**
 * The home page's table shows this many credentials a page. 25, not 50: each row is a whole
 * record read (bulk KV get), parsed, viewed and rendered, which with the overview's index listing
 * of 1,000 credentials put the page at the Free plan's 10 ms of CPU (bench P5
 * `ui_credentials_1000`). The cost: twice as many pages to click through the registry (40 for
 * 1,000 credentials instead of 20).
 */
const CREDENTIALS_PAGE_SIZE = 25;
/** The credential page shows this many audit entries, newest first. */
const AUDIT_SHOWN = 100;
/** The rotations page reads one registry page of this many credentials (the KV list maximum)… */
const ROTATIONS_SCAN_LIMIT = 1000;
/** …and the rotation records of at most this many failures, for their errors. */
const FAILED_ERRORS_READ = 40;
export const ui = new Hono<UiEnv>()
  .use("*", uiSecureHeaders, noStore, sameOriginOnly)
  .get("/sign-in", async (c) => {
    const q = query(c, signInQuerySchema);
    // Behind Access, whoever Access let through is signed in already; the token form is for the rest.
    if ((await accessIdentity(c))?.ok) return c.redirect("/ui", 303);
    if (c.var.services.config.CF_ACCESS_REQUIRED) throw accessRequired();
    const current = await readSession(
      await uiKeys(c.var.services.config),
      sessionCookie(c),
      c.var.services.now(),
    );
    if (current.ok) return c.redirect("/ui", 303);
    const notice = q.expired
      ? ({ tone: "bad", text: "Your session has expired. Sign in again.", code: "session_expired" } as const)
      : q.signed_out
      ? ({ tone: "ok", text: "Signed out." } as const)
      : undefined;
    return html(c, SignInPage({ nonce: nonce(c), ...(notice ? { notice } : {}) }));
  })
  .post("/sign-in", async (c) => {
    if (c.var.services.config.CF_ACCESS_REQUIRED) throw accessRequired();
    const form = await formBody(c, signInFormSchema);
    const expected = requireConfig(c.var.services.config, "REKEY_ADMIN_TOKEN");
    // Digest comparison: neither the token's content nor its length leaks through timing.
    if (!(await timingSafeEqualDigest(form.token, expected))) {
      return html(
        c,
        SignInPage({
          nonce: nonce(c),
          notice: { tone: "bad", text: "That token is not valid.", code: "invalid_token" },
        }),
        401,
      );
    }
    setSessionCookie(c, await issueSession(await uiKeys(c.var.services.config), c.var.services.now()));
    return c.redirect("/ui", 303);
  })
  .post("/sign-out", requireSession, async (c) => {
    const form = await formBody(c, signOutFormSchema);
    await requireCsrf(c, form.csrf);
    clearSessionCookie(c);
    // An Access identity signs out of Access (its logout URL on this host ends the Access session).
    if (signedIn(c).actor !== ADMIN_TOKEN_ACTOR) return c.redirect("/cdn-cgi/access/logout", 303);
    return c.redirect("/ui/sign-in?signed_out=1", 303);
  })
  .get("/", requireSession, async (c) => {
    const q = query(c, listPageQuerySchema);
    const now = c.var.services.now();
    const { store, stats } = c.var.services;
    // The overview heads the first page only; its figures come from aggregates (core/summary).
    const [page, summary] = await Promise.all([
      store.listCredentials({ limit: CREDENTIALS_PAGE_SIZE, ...(q.cursor ? { cursor: q.cursor } : {}) }),
      q.cursor ? undefined : buildSummary({ store, stats }, now),
    ]);
    const rows = page.items.map((rec) => ({ credential: credentialView(rec), next: nextActions(rec, now) }));
    return html(
      c,
      CredentialsPage({
        nonce: nonce(c),
        csrf: signedIn(c).csrf,
        now,
        rows,
        nextCursor: page.cursor ?? null,
        ...(summary ? { summary } : {}),
      }),
    );
  })
  .get("/credentials/:id", requireSession, async (c) => {
    const id = credentialId(c);
    const q = query(c, credentialPageQuerySchema);
    const { store, audit } = c.var.services;
    const found = await store.getCredential(id);
    if (!found) throw refused("credential_not_found", "No such credential");
    const now = c.var.services.now();
    // As the settlement of its rotation leaves it, when that rotation is over (core/rotation/settle.ts).
    const { rec } = await readSettled(store, found.value);
    const rotations = (await store.listRotations(id)).map(rotationView).sort((a, b) =>
      b.created_at.localeCompare(a.created_at)
    );
    const trail = await newestAudit(audit, id, AUDIT_SHOWN);
    // A manager PAT lost to a leak leaves this credential unable to rotate until it gets a new one.
    const manager = rec.manager_id ? (await store.getCredential(rec.manager_id))?.value : undefined;
    const flash = q.started
      ? q.joined
        ? `Joined rotation ${q.started}, which was already running.`
        : `${q.mode === "revoke" ? "Revocation" : "Rotation"} ${q.started} started. Reload to follow its progress.`
      : undefined;
    return html(
      c,
      CredentialPage({
        nonce: nonce(c),
        csrf: signedIn(c).csrf,
        now,
        credential: credentialView(rec, c.var.services.reads ? await c.var.services.reads.list(id) : []),
        next: nextActions(rec, now),
        rotations,
        audit: trail,
        ...(manager?.needs_manager ? { managerLost: manager.id } : {}),
        ...(flash ? { flash } : {}),
      }),
    );
  })
  .get("/credentials/:id/rotate", requireSession, (c) => confirm(c, "rotate"))
  .get("/credentials/:id/revoke", requireSession, (c) => confirm(c, "revoke"))
  .post("/credentials/:id/rotate", requireSession, (c) => start(c, "rotate"))
  .post("/credentials/:id/revoke", requireSession, (c) => start(c, "revoke"))
  .get("/rotations", requireSession, async (c) => {
    query(c, emptyQuerySchema);
    const { store } = c.var.services;
    // One registry page; the lists come from the records themselves (no Durable Object round trip).
    const page = await store.listCredentials({ limit: ROTATIONS_SCAN_LIMIT });
    const inFlight: InFlightRow[] = [];
    const failed: FailedRow[] = [];
    for (const rec of page.items) {
      const cur = rec.current_rotation;
      if (cur) {
        inFlight.push({
          credential_id: rec.id,
          rotation_id: cur.id,
          reason: cur.reason,
          mode: cur.mode,
          requested_by: cur.requested_by,
          approved_by: cur.approved_by,
          created_at: cur.created_at,
        });
      } else if (rec.last_rotation?.state === "failed") {
        const last = rec.last_rotation;
        failed.push({
          credential_id: rec.id,
          rotation_id: last.id,
          reason: last.reason,
          finished_at: last.finished_at,
        });
      }
    }
    inFlight.sort((a, b) => b.created_at.localeCompare(a.created_at));
    failed.sort((a, b) => b.finished_at.localeCompare(a.finished_at));
    // The errors of the most recent failures, by rotation id (a KV read each, not a Durable Object's).
    await Promise.all(
      failed.slice(0, FAILED_ERRORS_READ).map(async (row) => {
        const r = await store.findRotation(row.rotation_id);
        if (r) row.error = rotationView(r).error;
      }),
    );
    return html(
      c,
      RotationsPage({
        nonce: nonce(c),
        csrf: signedIn(c).csrf,
        now: c.var.services.now(),
        inFlight,
        failed,
        truncated: page.cursor !== undefined,
        errorsTruncated: failed.length > FAILED_ERRORS_READ,
      }),
    );
  })
  .get("/plan", requireSession, async (c) => {
    query(c, emptyQuerySchema);
    const now = c.var.services.now();
    const report = await planSweepReport(c.var.services.store, now);
    return html(
      c,
      PlanPage({ nonce: nonce(c), csrf: signedIn(c).csrf, now, plan: report.actions, leftAlone: report.left_alone }),
    );
  })
  .get("/maintenance", requireSession, async (c) => {
    const q = query(c, maintenanceQuerySchema);
    const { store, stats, jobs } = c.var.services;
    const now = c.var.services.now();
    const [{ keyring }, figures, job] = await Promise.all([
      c.var.services.engine(),
      registryFigures({ store, stats }, now),
      jobs.getJob(),
    ]);
    const flash = q.started
      ? q.outcome === "resumed"
        ? `Re-encryption ${q.started} was already running: resumed from where it stopped. Reload to follow it.`
        : `Re-encryption ${q.started} started. Reload to follow its progress.`
      : undefined;
    return html(
      c,
      MaintenancePage({
        nonce: nonce(c),
        csrf: signedIn(c).csrf,
        now,
        currentVersion: keyring.currentVersion,
        versions: [...keyring.versions].sort((a, b) => a - b),
        figures,
        job: job?.value ?? null,
        ...(flash ? { flash } : {}),
      }),
    );
  })
  .get("/maintenance/reencrypt", requireSession, async (c) => {
    query(c, emptyQuerySchema);
    const { store, stats, jobs } = c.var.services;
    const [{ keyring }, figures, job] = await Promise.all([
      c.var.services.engine(),
      registryFigures({ store, stats }, c.var.services.now()),
      jobs.getJob(),
    ]);
    return html(
      c,
      ReencryptConfirmPage({
        nonce: nonce(c),
        csrf: signedIn(c).csrf,
        currentVersion: keyring.currentVersion,
        behind: behind(figures, keyring.currentVersion),
        running: job?.value.state === "running",
      }),
    );
  })
  .post("/maintenance/reencrypt", requireSession, async (c) => {
    const form = await formBody(c, reencryptFormSchema);
    await requireCsrf(c, form.csrf);
    const services = c.var.services;
    // The same start (or resume) as POST /v1/maintenance/reencrypt, requested by the dashboard.
    const started = await startReencrypt(services, await services.engine(), signedIn(c).actor);
    const q = new URLSearchParams({ started: started.job.id, outcome: started.outcome });
    return c.redirect(`/ui/maintenance?${q}`, 303);
  })
  .onError((error, c) => {
    const { status, code, message } = describeError(error, c);
    const csrf = c.var.csrf;
    return html(c, ErrorPage({ nonce: nonce(c), status, code, message, ...(csrf ? { csrf } : {}) }), status);
  });

async function confirm(c: Ctx, mode: "rotate" | "revoke"): Promise<Response> {
  const id = credentialId(c);
  query(c, emptyQuerySchema);
  const found = await c.var.services.store.getCredential(id);
  if (!found) throw beginError("credential_not_found", "ui");
  if (found.value.state === "revoked") throw beginError("credential_revoked", "ui");
  return html(
    c,
    ConfirmPage({ nonce: nonce(c), csrf: signedIn(c).csrf, credential: credentialView(found.value), mode }),
  );
}

async function start(c: Ctx, mode: "rotate" | "revoke"): Promise<Response> {
  const id = credentialId(c);
  const form = await formBody(c, startFormSchema);
  await requireCsrf(c, form.csrf);
  const begun = await startFromUi(c.var.services, id, mode, form.reason, signedIn(c).actor);
  return c.redirect(startedUrl(id, begun.rotation.id, mode, begun.joined), 303);
}

function startedUrl(id: string, rotationId: string, mode: "rotate" | "revoke", joined: boolean): string {
  const q = new URLSearchParams({ started: rotationId, mode, ...(joined ? { joined: "1" } : {}) });
  return `/ui/credentials/${encodeURIComponent(id)}?${q}`;
}
