/**
 * A local HTTP receiver standing in for the outside world rekey posts to: a Slack incoming webhook
 * or response_url, a Discord follow-up webhook, an outbound webhook endpoint. It records every
 * request it gets; tests read them back. Nothing is mocked: rekey really sends over loopback.
 *
 *   POST|PUT|PATCH /<anything>          recorded; answers 200 (or the status set for that path)
 *   GET  /_received?prefix=/path        → {"requests": [{method, path, headers, body, time}]}
 *   POST /_status {"path","status","count"}  next `count` requests to `path` answer `status`
 *        optional "location" (sent as the Location header: a redirect) and "body" (instead of "forced failure")
 *   POST /_serve {"path","body"}         GET `path` answers 200 with `body` as JSON (a document to fetch)
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  time: string;
}

export async function startReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const received: Received[] = [];
  const statuses = new Map<string, { status: number; count: number; location?: string; body?: string }>();
  const served = new Map<string, string>();
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const body = await read(req);
    if (req.method === "GET" && url.pathname === "/_received") {
      const prefix = url.searchParams.get("prefix") ?? "/";
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ requests: received.filter((r) => r.path.startsWith(prefix)) }));
    }
    if (req.method === "POST" && url.pathname === "/_status") {
      const b = JSON.parse(body) as { path: string; status: number; count?: number; location?: string; body?: string };
      statuses.set(b.path, {
        status: b.status,
        count: b.count ?? 1,
        ...(b.location ? { location: b.location } : {}),
        ...(b.body !== undefined ? { body: b.body } : {}),
      });
      return res.end("{}");
    }
    if (req.method === "POST" && url.pathname === "/_serve") {
      const b = JSON.parse(body) as { path: string; body: unknown };
      served.set(b.path, JSON.stringify(b.body));
      return res.end("{}");
    }
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    received.push({
      method: req.method ?? "",
      path: url.pathname + url.search,
      headers,
      body,
      time: new Date().toISOString(),
    });
    const forced = statuses.get(url.pathname);
    if (forced && forced.count > 0) {
      forced.count--;
      res.statusCode = forced.status;
      if (forced.location) res.setHeader("location", forced.location);
      return res.end(forced.body ?? "forced failure");
    }
    res.setHeader("content-type", "application/json");
    res.end(req.method === "GET" ? (served.get(url.pathname) ?? "{}") : "{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
