/**
 * Starts the real Deno entry point (src/deno.ts) as its own process, with the flags of deno.json's
 * `start` task, so the end-to-end test also proves those permissions are enough. It runs from
 * test/deno/, where there is no `.dev.vars`: the test's environment is the whole configuration.
 */
const root = new URL("../../", import.meta.url);

export interface DenoServer {
  url: string;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startDenoServer(env: Record<string, string>): Promise<DenoServer> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as { tasks: { start: string } };
  const words = config.tasks.start.split(/\s+/);
  const entry = words.findIndex((w) => w.endsWith(".ts"));
  const flags = words.slice(words.indexOf("run") + 1, entry);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, new URL("src/deno.ts", root).pathname, ...words.slice(entry + 1)],
    cwd: new URL("test/deno/", root).pathname,
    env: { ...env, PORT: String(port), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const pump = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(new WritableStream({ write: (chunk) => void (output += decoder.decode(chunk, { stream: true })) }));
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await pumps;
  };
  for (let i = 0;; i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      // 503: listening, but refusing its configuration (what test/deno/config-refused.test.ts checks).
      if (res.ok || res.status === 503) break;
    } catch {
      // not listening yet
    }
    if (i > 300) {
      await stop();
      throw new Error(`The Deno server did not answer within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, output: () => output, stop };
}
