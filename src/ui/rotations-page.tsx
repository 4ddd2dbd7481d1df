import type { RotationView } from "../routes/v1/views.ts";
import { Layout } from "./layout.tsx";
import { RotationTable } from "./rotation-table.tsx";

export interface RotationsPageProps {
  nonce: string;
  csrf: string;
  now: number;
  inFlight: RotationView[];
  failed: RotationView[];
  /** More credentials than one page view reads: the lists may be incomplete. */
  truncated: boolean;
}

export function RotationsPage(props: RotationsPageProps) {
  return (
    <Layout title="Rotations" nonce={props.nonce} csrf={props.csrf} section="rotations">
      <h1>Rotations</h1>
      <h2>In flight ({props.inFlight.length})</h2>
      <RotationTable rotations={props.inFlight} now={props.now} showCredential />
      <h2>Failed ({props.failed.length})</h2>
      <p class="muted">Credentials whose most recent rotation failed. A later successful rotation clears the entry.</p>
      <RotationTable rotations={props.failed} now={props.now} showCredential />
      {props.truncated ? <p class="warn">Only the first credentials of the registry were read; the lists may be incomplete.</p> : null}
    </Layout>
  );
}
