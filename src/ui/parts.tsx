/** Small pieces several pages share. */
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
