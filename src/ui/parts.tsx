/** Small pieces several pages share. */
import type { NextAction } from "../core/sweep/next-actions.ts";
import { relative } from "./time.ts";

export function StateBadge(props: { state: string }) {
  const tone = props.state === "active" || props.state === "done" ? "ok" : props.state === "running" ? "warn" : "bad";
  return <span class={`badge ${tone}`}>{props.state}</span>;
}

/** An absolute time with the relative one beside it; both are public metadata. */
export function Time(props: { iso: string | null | undefined; now: number }) {
  if (!props.iso) return <span class="muted">—</span>;
  return (
    <time datetime={props.iso} title={props.iso}>
      {relative(props.iso, props.now)}
    </time>
  );
}

export function CredentialLink(props: { id: string }) {
  return (
    <a class="mono" href={`/ui/credentials/${encodeURIComponent(props.id)}`}>
      {props.id}
    </a>
  );
}

/** A credential's next scheduled actions, each with when and why (credentials list and credential page). */
export function NextActions(props: { next: NextAction[]; now: number }) {
  if (props.next.length === 0) return <span class="muted">nothing scheduled</span>;
  return (
    <>
      {props.next.map((n) => (
        <div>
          <strong>{n.action}</strong> {n.due ? <span class="badge warn">due</span> : <Time iso={n.at} now={props.now} />}
          <div class="muted">{n.reason}</div>
        </div>
      ))}
    </>
  );
}
