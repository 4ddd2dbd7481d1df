/**
 * One outbound POST of a JSON message (Slack, Discord, signed webhooks, chat replies), with the
 * failure classified for the bus: 5xx, 429 and network failures are retryable (redelivered with
 * backoff); any other 4xx is permanent (the target refuses it, and the dead-letter path tells a
 * human). Errors name the target and the status only: a URL may be a capability.
 */
export class DeliveryFailed extends Error {
  override readonly name = "DeliveryFailed";
  constructor(
    readonly retryable: boolean,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function postJson(url: string, body: string, opts: { label: string; headers?: Record<string, string>; fetcher?: typeof fetch }): Promise<void> {
  let res: Response;
  try {
    res = await (opts.fetcher ?? fetch)(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "rekey", ...opts.headers },
      body,
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new DeliveryFailed(true, "network", `Delivery to "${opts.label}" failed: network error or timeout`);
  }
  await res.body?.cancel();
  if (res.ok) return;
  throw new DeliveryFailed(res.status >= 500 || res.status === 429, `http_${res.status}`, `Delivery to "${opts.label}" answered ${res.status}`);
}
