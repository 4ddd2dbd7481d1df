import { Layout } from "./layout.tsx";

export interface SignInPageProps {
  nonce: string;
  notice?: { tone: "ok" | "bad"; text: string; code?: string };
}

/** The only form that takes a secret: the admin token, posted once and never echoed back. */
export function SignInPage(props: SignInPageProps) {
  return (
    <Layout title="Sign in" nonce={props.nonce}>
      <div class="signin card">
        <h1>Sign in to rekey</h1>
        {props.notice ? (
          <p class={`flash ${props.notice.tone}`} role={props.notice.tone === "bad" ? "alert" : "status"}>
            {props.notice.text}
            {props.notice.code ? <span class="muted"> ({props.notice.code})</span> : null}
          </p>
        ) : null}
        <form method="post" action="/ui/sign-in">
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required maxlength={1024} />
          <p class="muted">REKEY_ADMIN_TOKEN. It is exchanged for a 30-minute session cookie; the token itself is not kept in the browser.</p>
          <button class="primary" type="submit">
            Sign in
          </button>
        </form>
      </div>
    </Layout>
  );
}
