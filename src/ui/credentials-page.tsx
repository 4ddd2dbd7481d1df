import type { CredentialView } from "../routes/v1/views.ts";
import type { Summary } from "../core/summary/summary.ts";
import { Overview } from "./overview.tsx";
import { Layout } from "./layout.tsx";
import type { NextAction } from "../core/sweep/next-actions.ts";
import { duration } from "./time.ts";
import { CredentialLink, NextActions, StateBadge, Time } from "./parts.tsx";

interface CredentialRow {
  credential: CredentialView;
  next: NextAction[];
}

export interface CredentialsPageProps {
  nonce: string;
  csrf: string;
  now: number;
  rows: CredentialRow[];
  nextCursor: string | null;
  /** The overview above the table (the first page only). */
  summary?: Summary;
}

function owner(c: CredentialView): string {
  if (c.kind === "app_key" && c.app_id) return `${c.user_id} / ${c.app_id}`;
  if (c.kind === "secret" && c.secret_id) return `${c.user_id} / secret ${c.secret_id}`;
  return c.user_id;
}

export function CredentialsPage(props: CredentialsPageProps) {
  return (
    <Layout title="Credentials" nonce={props.nonce} csrf={props.csrf} section="credentials">
      {props.summary ? <Overview summary={props.summary} /> : null}
      <h1>Managed credentials</h1>
      {props.rows.length === 0 ? (
        <p class="muted">No credentials are registered yet. Register one with POST /v1/credentials (or run npm run demo locally).</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Credential</th>
              <th>Kind</th>
              <th>Owner</th>
              <th>Age</th>
              <th>State</th>
              <th>Next scheduled action</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map(({ credential: c, next }) => (
              <tr data-credential={c.id}>
                <td>
                  <CredentialLink id={c.id} />
                  <div class="muted">{c.description}</div>
                </td>
                <td>{c.kind}</td>
                <td>{owner(c)}</td>
                <td title={c.value_created_at}>
                  {duration(props.now - Date.parse(c.value_created_at))}
                  {c.key_expires_at ? (
                    <div class="muted" data-field="key-expires-at">
                      expires at Clarifai <Time iso={c.key_expires_at} now={props.now} />
                    </div>
                  ) : null}
                </td>
                <td>
                  <StateBadge state={c.state} />
                  {c.current_rotation_id ? (
                    <div>
                      <span class="badge warn">rotating</span>
                    </div>
                  ) : c.last_rotation?.state === "failed" ? (
                    <div>
                      <span class="badge bad">last rotation failed</span>
                    </div>
                  ) : null}
                  {c.leaked_live ? (
                    <div>
                      <span class="badge bad">leaked, still live</span>
                    </div>
                  ) : null}
                  {c.needs_manager ? (
                    <div>
                      <span class="badge bad">needs a new manager</span>
                    </div>
                  ) : null}
                </td>
                <td>
                  <NextActions next={next} now={props.now} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextCursor ? (
        <p>
          <a href={`/ui?cursor=${encodeURIComponent(props.nextCursor)}`}>Next page →</a>
        </p>
      ) : null}
    </Layout>
  );
}
