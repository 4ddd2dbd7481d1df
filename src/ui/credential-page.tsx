import type { AuditTrail } from "../core/audit/newest.ts";
import type { CredentialView, RotationView } from "../routes/v1/views.ts";
import { Layout } from "./layout.tsx";
import type { NextAction } from "../core/sweep/next-actions.ts";
import { CredentialLink, NextActions, StateBadge, Time } from "./parts.tsx";
import { RotationTable } from "./rotation-table.tsx";
import { sinkKey } from "../core/sinks/drivers.ts";

export interface CredentialPageProps {
  nonce: string;
  csrf: string;
  now: number;
  credential: CredentialView;
  next: NextAction[];
  rotations: RotationView[];
  audit: AuditTrail;
  /** Its manager PAT was deleted after a leak without a successor. */
  managerLost?: string;
  flash?: string;
}

/**
 * Audit data is event data, which the bus schemas keep to ids, codes and 8-hex fingerprint
 * prefixes. Still, only short scalar fields are shown: the page renders what it understands.
 */
function auditSummary(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([k, v]) => k !== "credential_id" && k !== "rotation_id" && k !== "actor" && (typeof v === "string" || typeof v === "number" || typeof v === "boolean"))
    .map(([k, v]) => `${k}=${String(v).slice(0, 80)}`)
    .join(" · ");
}

export function CredentialPage(props: CredentialPageProps) {
  const c = props.credential;
  return (
    <Layout title={c.id} nonce={props.nonce} csrf={props.csrf} section="credentials">
      <p>
        <a href="/ui">← Credentials</a>
      </p>
      <h1>
        <span class="mono">{c.id}</span> <StateBadge state={c.state} />
      </h1>
      {props.flash ? (
        <p class="flash" role="status">
          {props.flash}
        </p>
      ) : null}
      {c.leaked_live ? (
        <p class="warn" data-alert="leaked-live">
          Leaked and still live: Clarifai has not confirmed the deletion of a leaked value of this credential. Every sweep retries it until Clarifai does.
        </p>
      ) : null}
      {c.needs_manager ? (
        <p class="warn" data-alert="needs-manager">
          Needs a new manager: this leaked PAT has no working successor (rotation <span class="mono">{c.needs_manager.rotation_id}</span>), so it is deleted, or its deletion is owed to the sweep. Register a new manager PAT, then re-register the credentials it managed.
        </p>
      ) : null}
      {props.managerLost ? (
        <p class="warn" data-alert="manager-lost">
          Its manager <span class="mono">{props.managerLost}</span> was deleted after a leak and needs a new manager: this credential cannot rotate until it is re-registered under a new manager PAT.
        </p>
      ) : null}
      <div class="card">
        <dl>
          <dt>Kind</dt>
          <dd>{c.kind}</dd>
          <dt>Owner</dt>
          <dd>
            user <code>{c.user_id}</code>
            {c.app_id ? <> · app <code>{c.app_id}</code></> : null}
            {c.secret_id ? <> · secret <code>{c.secret_id}</code></> : null}
          </dd>
          <dt>Description</dt>
          <dd>{c.description || <span class="muted">—</span>}</dd>
          <dt>Managed by</dt>
          <dd>{c.manager_id ? <CredentialLink id={c.manager_id} /> : "itself"}</dd>
          <dt>Current value</dt>
          <dd>
            fingerprint <code>{c.fingerprint}…</code>, created <Time iso={c.value_created_at} now={props.now} />
          </dd>
          <dt>Expires at Clarifai</dt>
          <dd data-field="key-expires-at">{c.key_expires_at ? <Time iso={c.key_expires_at} now={props.now} /> : <span class="muted">never</span>}</dd>
          <dt>Scopes</dt>
          <dd>{c.scopes.length ? c.scopes.join(", ") : <span class="muted">—</span>}</dd>
          <dt>Policy</dt>
          <dd>
            {c.policy.max_age_days ? `rotate after ${c.policy.max_age_days} days` : "no age limit"} · grace {c.policy.grace_hours} h · on compromise: {c.policy.on_compromise}
            {c.policy.expires_at ? <> · expires <Time iso={c.policy.expires_at} now={props.now} /></> : null}
            {c.policy.upstream_expiry ? <> · dead-man switch: keys expire at Clarifai {c.policy.upstream_expiry_margin_hours ?? 72} h after their grace period</> : null}
            {c.policy.revoke_when_consumers_moved ? <> · grace ends once every consumer has read the new value</> : null}
          </dd>
          <dt>Sinks</dt>
          <dd>{c.sinks.length ? c.sinks.map((s) => sinkKey(s).replace(":", " ")).join(", ") : <span class="muted">none</span>}</dd>
          <dt>Consumers</dt>
          <dd data-field="consumers">
            {c.readers?.length ? (
              c.readers.map((r) => (
                <div data-consumer={r.consumer}>
                  <code>{r.consumer}</code>{" "}
                  {r.fingerprint && r.read_at ? <>last read <code>{r.fingerprint}…</code> {r.current ? "(current)" : "(superseded)"} <Time iso={r.read_at} now={props.now} /></> : <span class="muted">has not read the value</span>}
                  {r.listed ? null : <span class="muted"> (no longer listed)</span>}
                </div>
              ))
            ) : (
              <span class="muted">none (no Worker reads it over the service binding)</span>
            )}
          </dd>
          <dt>Next scheduled action</dt>
          <dd>
            <NextActions next={props.next} now={props.now} />
          </dd>
          <dt>Superseded values</dt>
          <dd>
            {c.previous.length === 0 ? (
              <span class="muted">none</span>
            ) : (
              c.previous.map((p) => (
                <div>
                  <code>{p.fingerprint}…</code> {p.revoked_at ? <>revoked <Time iso={p.revoked_at} now={props.now} /></> : p.leaked ? <strong>leaked and still live: revocation owed since <Time iso={p.revoke_after} now={props.now} /></strong> : <>valid until <Time iso={p.revoke_after} now={props.now} /></>}
                </div>
              ))
            )}
          </dd>
        </dl>
      </div>
      {c.state === "active" ? (
        <div class="actions">
          <a class="button" href={`/ui/credentials/${encodeURIComponent(c.id)}/rotate`}>
            Rotate…
          </a>
          <a class="button danger" href={`/ui/credentials/${encodeURIComponent(c.id)}/revoke`}>
            Revoke…
          </a>
        </div>
      ) : null}
      <h2>Rotation history</h2>
      <RotationTable rotations={props.rotations} now={props.now} showCredential={false} />
      <h2>Audit trail</h2>
      {props.audit.newerMayBeMissing ? (
        <p class="warn">
          The trail is longer than this page reads: it shows the last {props.audit.entries.length} of the first {props.audit.total} entries, and newer entries may be missing. The whole trail is in GET /v1/audit?credential_id={c.id}.
        </p>
      ) : null}
      {props.audit.entries.length === 0 ? (
        <p class="muted">No audit entries yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>Event</th>
              <th>Actor</th>
              <th>Source</th>
              <th>Rotation</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {props.audit.entries.map((e) => (
              <tr data-audit-type={e.type}>
                <td>
                  <Time iso={e.time} now={props.now} />
                </td>
                <td>
                  <code>{e.type}</code>
                </td>
                <td class="mono" data-field="actor">{e.actor ?? ""}</td>
                <td class="mono">{e.source}</td>
                <td class="mono">{e.rotation_id ?? ""}</td>
                <td class="muted">{auditSummary(e.data)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.audit.olderHidden && !props.audit.newerMayBeMissing ? (
        <p class="muted">
          The newest {props.audit.entries.length} of {props.audit.total} entries, newest first. Older ones are in GET /v1/audit?credential_id={c.id}.
        </p>
      ) : null}
    </Layout>
  );
}
