/** The page frame: head with the nonce'd stylesheet, navigation, and the sign-out form. */
import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "./csrf.ts";
import { CSS } from "./style.ts";

type Section = "credentials" | "rotations" | "plan" | "maintenance";

export interface LayoutProps {
  title: string;
  nonce: string;
  /** Present when signed in: the navigation and the sign-out form are shown. */
  csrf?: string;
  section?: Section;
  children?: Child;
}

const NAV: [Section, string, string][] = [
  ["credentials", "/ui", "Credentials"],
  ["rotations", "/ui/rotations", "Rotations"],
  ["plan", "/ui/plan", "Next sweep"],
  ["maintenance", "/ui/maintenance", "Maintenance"],
];

/**
 * Who is signed in (an Access identity, or `admin-token`), for the header: set by routes.ts around
 * one page's render rather than threaded through every page's props. Safe without a per-request
 * store because a page renders synchronously (its components are not async): no other request's
 * code can run between setting it and resetting it. hono/jsx's own context would do the same, at
 * 5 KiB of bundle for its client-side renderer.
 */
let signedInAs: string | undefined;

export function renderSignedIn(identity: string | undefined, render: () => string): string {
  signedInAs = identity;
  try {
    return render();
  } finally {
    signedInAs = undefined;
  }
}

export function Layout(props: LayoutProps) {
  const identity = signedInAs;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · rekey`}</title>
        <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <header>
          <span class="brand">rekey</span>
          {props.csrf !== undefined ? (
            <>
              <nav>
                {NAV.map(([section, href, label]) => (
                  <a href={href} aria-current={props.section === section ? "page" : undefined}>
                    {label}
                  </a>
                ))}
              </nav>
              {identity ? (
                <span class="muted" data-field="signed-in-as">
                  {identity}
                </span>
              ) : null}
              <form class="inline" method="post" action="/ui/sign-out">
                <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}
