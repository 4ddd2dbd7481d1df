/**
 * One outbound POST of a JSON message (Slack, Discord, signed webhooks, chat replies), with the
 * failure classified for the bus: 5xx, 429 and network failures are retryable (redelivered with
 * backoff); any other 4xx is permanent (the target refuses it, and the dead-letter path tells a
 * human). Errors name the target and the status only: a URL may be a capability.
 *
 * Redirects are never followed (`redirect: "manual"`): a followed redirect would hand the signed
 * body, its `webhook-*` headers and the event to whatever host the `Location` names, and a Slack or
 * Discord URL that redirects is not the one that was configured. A 3xx is therefore permanent,
 * code `unexpected_redirect`: the target must be fixed, and retrying cannot change it.
 */
import { Failure } from "../failure.ts";

function deliveryFailure(retryable: boolean, code: string, message: string): Failure<"delivery"> {
  return new Failure("delivery", code, message, retryable, {});
}

export async function postJson(
  url: string,
  body: string,
  opts: { label: string; headers?: Record<string, string>; fetcher?: typeof fetch },
): Promise<void> {
  let res: Response;
  try {
    res = await (opts.fetcher ?? fetch)(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "rekey", ...opts.headers },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw deliveryFailure(true, "network", `Delivery to "${opts.label}" failed: network error or timeout`);
  }
  await res.body?.cancel();
  // status 0 with type "opaqueredirect" is how a fetch that follows the browser rules reports it.
  if ((res.type as string) === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
    throw deliveryFailure(
      false,
      "unexpected_redirect",
      `Delivery to "${opts.label}" answered a redirect, which is never followed`,
    );
  }
  if (res.ok) return;
  throw deliveryFailure(
    res.status >= 500 || res.status === 429,
    `http_${res.status}`,
    `Delivery to "${opts.label}" answered ${res.status}`,
  );
}
