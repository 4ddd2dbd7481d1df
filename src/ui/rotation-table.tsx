import type { RotationView } from "../routes/v1/views.ts";
import { CredentialLink, StateBadge, Time } from "./parts.tsx";

export function RotationTable(props: { rotations: RotationView[]; now: number; showCredential: boolean }) {
  if (props.rotations.length === 0) return <p class="muted">None.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>Rotation</th>
          {props.showCredential ? <th>Credential</th> : null}
          <th>Reason · mode</th>
          <th>State</th>
          <th>Step</th>
          <th>Requested by</th>
          <th>Started</th>
          <th>Finished</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {props.rotations.map((r) => (
          <tr data-rotation={r.id} data-state={r.state}>
            <td class="mono">{r.id}</td>
            {props.showCredential ? (
              <td>
                <CredentialLink id={r.credential_id} />
              </td>
            ) : null}
            <td>
              {r.reason} · {r.mode}
              {r.containment_ms !== null ? (
                <div class="muted" data-containment-ms={String(r.containment_ms)}>
                  contained in {r.containment_ms} ms
                </div>
              ) : null}
            </td>
            <td>
              <StateBadge state={r.state} />
            </td>
            <td>
              {r.state === "running" ? (
                <>
                  <code>{r.step}</code> <span class="muted">of {r.plan.join(" → ")}</span>
                  {r.next_attempt_at ? (
                    <div class="muted">
                      retry <Time iso={r.next_attempt_at} now={props.now} />
                    </div>
                  ) : null}
                </>
              ) : (
                <span class="muted">{r.plan.join(" → ")}</span>
              )}
            </td>
            <td class="mono">
              {r.requested_by}
              {r.approved_by ? <div class="muted">approved by {r.approved_by}</div> : null}
            </td>
            <td>
              <Time iso={r.created_at} now={props.now} />
            </td>
            <td>
              <Time iso={r.finished_at} now={props.now} />
            </td>
            <td>{r.error ? <span class="bad">{`${r.error.code} at ${r.error.step}: ${r.error.message}`}</span> : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
