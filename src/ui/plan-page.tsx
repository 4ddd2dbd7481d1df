import type { LeftAloneKey } from "../core/sweep/plan.ts";
import type { DueAction } from "../core/sweep/rules.ts";
import { Layout } from "./layout.tsx";
import { CredentialLink, Time } from "./parts.tsx";
import { iso } from "../core/time.ts";

export interface PlanPageProps {
  nonce: string;
  csrf: string;
  now: number;
  plan: DueAction[];
  leftAlone: LeftAloneKey[];
}

/** The same read-only plan as GET /v1/plan: the sweep's own rules, applied now. */
export function PlanPage(props: PlanPageProps) {
  return (
    <Layout title="Next sweep" nonce={props.nonce} csrf={props.csrf} section="plan">
      <h1>Plan of the next sweep</h1>
      <p class="muted">
        Computed <time datetime={iso(props.now)}>{iso(props.now)}</time> with the sweep's rules (max age with jitter, grace periods,
        hard expiry, stuck rotations). The cron runs every 15 minutes.
      </p>
      {props.plan.length === 0 ? (
        <p>Nothing is due: the next sweep would take no action.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Credential</th>
              <th>Action</th>
              <th>Rule</th>
              <th>Due</th>
              <th>Reason</th>
              <th>Expires at Clarifai</th>
            </tr>
          </thead>
          <tbody>
            {props.plan.map((a) => (
              <tr data-credential={a.credential_id} data-rule={a.rule}>
                <td>
                  <CredentialLink id={a.credential_id} />
                  {a.fingerprint_prefix ? <div class="muted mono">value {a.fingerprint_prefix}…</div> : null}
                </td>
                <td>
                  <strong>{a.action}</strong>
                </td>
                <td>
                  <code>{a.rule}</code>
                </td>
                <td>
                  <Time iso={a.due_at} now={props.now} />
                </td>
                <td>{a.reason}</td>
                <td data-field="key-expires-at">{a.key_expires_at ? <Time iso={a.key_expires_at} now={props.now} /> : <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.leftAlone.length === 0 ? null : (
        <>
          <h2>Left alone</h2>
          <p class="muted">
            Keys at Clarifai that carry a rekey rotation marker, but that rekey cannot prove it minted (a marker can be copied onto any key). rekey never deletes them; look at each one
            at Clarifai.
          </p>
          <table>
            <thead>
              <tr>
                <th>Credential</th>
                <th>Key</th>
                <th>Marker names</th>
                <th>Why</th>
                <th>Found</th>
              </tr>
            </thead>
            <tbody>
              {props.leftAlone.map((l) => (
                <tr data-credential={l.credential_id} data-left-alone={l.reason}>
                  <td>
                    <CredentialLink id={l.credential_id} />
                  </td>
                  <td class="mono">{l.fingerprint_prefix}…</td>
                  <td>
                    <code>{l.rotation_id}</code>
                  </td>
                  <td>{l.reason.replaceAll("_", " ")}</td>
                  <td>
                    <Time iso={l.found_at} now={props.now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Layout>
  );
}
