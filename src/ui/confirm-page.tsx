import type { RotationMode } from "../core/rotation/rotation.ts";
import type { CredentialView } from "../routes/v1/views.ts";
import { CSRF_FIELD } from "./csrf.ts";
import { Layout } from "./layout.tsx";

export interface ConfirmPageProps {
  nonce: string;
  csrf: string;
  credential: CredentialView;
  mode: RotationMode;
}

/** The confirmation step of rotate and revoke: a page of its own, so it needs no script. */
export function ConfirmPage(props: ConfirmPageProps) {
  const c = props.credential;
  const rotate = props.mode === "rotate";
  const path = `/ui/credentials/${encodeURIComponent(c.id)}/${props.mode}`;
  return (
    <Layout title={rotate ? "Confirm rotation" : "Confirm revocation"} nonce={props.nonce} csrf={props.csrf} section="credentials">
      <h1>{rotate ? "Rotate" : "Revoke"} {c.id}?</h1>
      <div class="card">
        <p>
          {c.kind} of user <code>{c.user_id}</code>
          {c.description ? ` — ${c.description}` : ""}, current value <code>{c.fingerprint}…</code>
        </p>
        {rotate ? (
          <p>
            rekey creates a new value, writes it to {c.sinks.length} sink{c.sinks.length === 1 ? "" : "s"}, verifies it, promotes it, and then revokes the current value
            {c.policy.grace_hours > 0 ? ` after a grace period of ${c.policy.grace_hours} h` : " at once"}. Choose "compromise" to revoke the current value first.
          </p>
        ) : (
          <p class="bad">
            rekey deletes the current value at Clarifai now and makes no replacement. Anything still using it stops working. This cannot be undone.
          </p>
        )}
        <form method="post" action={path}>
          <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
          {rotate ? (
            <>
              <label for="reason">Reason</label>
              <select id="reason" name="reason">
                <option value="manual" selected>
                  manual (routine)
                </option>
                <option value="compromise">compromise (revoke the current value first)</option>
              </select>
            </>
          ) : (
            <input type="hidden" name="reason" value="manual" />
          )}
          <div class="actions">
            <button class={rotate ? "primary" : "danger primary"} type="submit">
              {rotate ? "Yes, rotate now" : "Yes, revoke now"}
            </button>
            <a class="button" href={`/ui/credentials/${encodeURIComponent(c.id)}`}>
              Cancel
            </a>
          </div>
        </form>
      </div>
    </Layout>
  );
}
