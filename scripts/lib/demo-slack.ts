/**
 * The demo's stand-in for Slack's response_url: a loopback server that records what rekey posts,
 * so the demo can print the message a channel would show.
 */
import { createServer } from "node:http";

export async function startDemoResponseUrl(port: number) {
  const messages: any[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        messages.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        // not JSON: not from rekey
      }
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: (tag: string) => `http://127.0.0.1:${port}/slack/response/${tag}`,
    async waitFor(match: (m: any) => boolean, timeoutMs = 15_000): Promise<any> {
      for (const until = Date.now() + timeoutMs; Date.now() < until;) {
        const hit = messages.find(match);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("rekey posted nothing matching to the response_url");
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
