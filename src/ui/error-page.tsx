import { Layout } from "./layout.tsx";

export interface ErrorPageProps {
  nonce: string;
  csrf?: string;
  status: number;
  code: string;
  message: string;
}

/** Errors as pages: the same status and stable code the API would give, readable in a browser. */
export function ErrorPage(props: ErrorPageProps) {
  return (
    <Layout title={`Error ${props.status}`} nonce={props.nonce} {...(props.csrf !== undefined ? { csrf: props.csrf } : {})}>
      <h1>{props.status === 401 ? "Not signed in" : "That did not work"}</h1>
      <p class="flash bad" role="alert">
        {props.message} <span class="muted">({props.code}, HTTP {props.status})</span>
      </p>
      <p>{props.status === 401 ? <a href="/ui/sign-in">Sign in</a> : <a href="/ui">Back to the credentials</a>}</p>
    </Layout>
  );
}
