import type { RotationView } from "../routes/v1/views.ts";
import { Layout } from "./layout.tsx";
import { CredentialLink, StateBadge, Time } from "./parts.tsx";

/** A running rotation, from its credential record's intent (no rotation record read). */
export interface InFlightRow {
  credential_id: string;
  rotation_id: string;
  reason: string;
  mode: "rotate" | "revoke";
  requested_by: string;
  approved_by?: string | undefined;
  created_at: string;
}

/** A credential whose most recent rotation failed, from its record's last_rotation. */
export interface FailedRow {
  credential_id: string;
  rotation_id: string;
  reason: string;
  finished_at: string;
  /** From the rotation record; undefined when the page did not read it (see errorsTruncated). */
  error?: RotationView["error"] | undefined;
}

export interface RotationsPageProps {
  nonce: string;
  csrf: string;
  now: number;
  /** Newest first. */
  inFlight: InFlightRow[];
  /** Newest first. */
  failed: FailedRow[];
  /** More credentials than one page view reads: the lists may be incomplete. */
  truncated: boolean;
  /** More failed rotations than the page reads errors for: the oldest show no error. */
  errorsTruncated: boolean;
}

export function RotationsPage(props: RotationsPageProps) {
  return (
    <Layout title="Rotations" nonce={props.nonce} csrf={props.csrf} section="rotations">
      <h1>Rotations</h1>
      <h2>In flight ({props.inFlight.length})</h2>
      {props.inFlight.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Rotation</th>
              <th>Credential</th>
              <th>Reason · mode</th>
              <th>State</th>
              <th>Requested by</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {props.inFlight.map((r) => (
              <tr data-rotation={r.rotation_id} data-state="running">
                <td class="mono">{r.rotation_id}</td>
                <td>
                  <CredentialLink id={r.credential_id} />
                </td>
                <td>
                  {r.reason} · {r.mode}
                </td>
                <td>
                  <StateBadge state="running" />
                </td>
                <td class="mono">
                  {r.requested_by}
                  {r.approved_by ? <div class="muted">approved by {r.approved_by}</div> : null}
                </td>
                <td>
                  <Time iso={r.created_at} now={props.now} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.inFlight.length > 0 ? <p class="muted">The credential's page shows each rotation's current step.</p> : null}
      <h2>Failed ({props.failed.length})</h2>
      <p class="muted">Credentials whose most recent rotation failed. A later successful rotation clears the entry.</p>
      {props.failed.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Rotation</th>
              <th>Credential</th>
              <th>Reason</th>
              <th>State</th>
              <th>Finished</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {props.failed.map((r) => (
              <tr data-rotation={r.rotation_id} data-state="failed">
                <td class="mono">{r.rotation_id}</td>
                <td>
                  <CredentialLink id={r.credential_id} />
                </td>
                <td>{r.reason}</td>
                <td>
                  <StateBadge state="failed" />
                </td>
                <td>
                  <Time iso={r.finished_at} now={props.now} />
                </td>
                <td>{r.error ? <span class="bad">{`${r.error.code} at ${r.error.step}: ${r.error.message}`}</span> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.errorsTruncated ? <p class="muted">Errors are shown for the most recent failures only; the credential's page shows the others.</p> : null}
      {props.truncated ? <p class="warn">Only the first credentials of the registry were read; the lists may be incomplete.</p> : null}
    </Layout>
  );
}
