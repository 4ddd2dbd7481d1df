/**
 * The real stack in processes of its own, for tests that SIGKILL it: the Clarifai emulator
 * (emulator/node/serve.ts) in one process, and rekey either under `wrangler dev` (workerd, local
 * KV/Durable Objects/Queues persisted in a directory) or under deno.json's start task (a Deno KV
 * file). Each runs in its own process group (wrangler spawns workerd), so a kill takes every
 * process of it and leaves nothing behind. Readiness is polled, never slept for.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDotenv } from "../../src/adapters/dotenv.ts";
import { formatDotenv } from "../../scripts/lib/format-dotenv.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { root } from "../../scripts/lib/stack.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The committed development configuration (dev mode, development-only secrets): what `npm start` runs on. */
export const devVars: Record<string, string> = parseDotenv(readFileSync(join(root, ".dev.vars.example"), "utf8"));

/** One process group: the process spawned and everything it spawned. */
export class Group {
  #log = "";
  readonly #exited: Promise<void>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    child.stdout?.on("data", (d) => (this.#log = (this.#log + d).slice(-20_000)));
    child.stderr?.on("data", (d) => (this.#log = (this.#log + d).slice(-20_000)));
    this.#exited = new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", () => r())));
    live.add(this);
  }

  /** The last output of the group, for a failure message. */
  get log(): string {
    return this.#log;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Any process of the group still there (a zombie not yet reaped counts as gone). */
  alive(): boolean {
    const pgid = this.child.pid!;
    try {
      process.kill(-pgid, 0);
    } catch {
      return false;
    }
    // kill(0) also succeeds on zombies (exited, not yet reaped): look for a member that is not one.
    return groupStates(pgid).some((state) => state !== "Z");
  }

  /** SIGKILL to the whole group, then waits until none of its processes is left. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      // already gone
    }
    await this.#exited;
    for (let i = 0; this.alive(); i++) {
      if (i > 200) throw new Error(`${this.name}: processes of group ${this.child.pid} survived ${signal}`);
      await sleep(25);
    }
    live.delete(this);
  }
}

/** States of the processes in a process group, from /proc (Linux). */
function groupStates(pgid: number): string[] {
  const states: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) states.push(fields[0]!);
  }
  return states;
}

/** Every group started and not yet killed: killed when the test process exits, whatever happened. */
const live = new Set<Group>();
process.once("exit", () => {
  for (const g of live) {
    try {
      process.kill(-g.child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

function spawnGroup(name: string, command: string, args: string[], env: Record<string, string>): Group {
  const child = spawn(command, args, {
    cwd: root,
    detached: true, // its own process group
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  return new Group(name, child);
}

/** Polls `ready` until it holds, the group exits, or `timeoutMs` passes. */
export async function waitReady(group: Group, what: string, ready: () => Promise<boolean>, timeoutMs = 150_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (group.exited) throw new Error(`${group.name} exited before ${what}:\n${group.log.slice(-3000)}`);
    if (Date.now() > deadline) {
      throw new Error(`${group.name}: no ${what} within ${timeoutMs} ms:\n${group.log.slice(-3000)}`);
    }
    await sleep(100);
  }
}

export interface EmulatorProcess {
  url: string;
  group: Group;
}

/** The Clarifai emulator as `npm run emulator` runs it, seeded with the development manager PAT. */
export async function startEmulator(): Promise<EmulatorProcess> {
  const port = await freePort();
  const group = spawnGroup("emulator", join(root, "node_modules/.bin/tsx"), [join(root, "emulator/node/serve.ts")], {
    EMULATOR_PORT: String(port),
    EMULATOR_SEED_PAT: devVars.EMULATOR_SEED_PAT!,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(group, "emulator state", async () => (await fetch(`${url}/_emulator/state`)).ok, 60_000);
  return { url, group };
}

/** One way of running rekey on a state that outlives its processes. */
export interface Runtime {
  name: string;
  /** Starts rekey on the persisted state; resolves once /healthz answers 200. */
  start(): Promise<Group>;
  url: string;
}

async function healthy(url: string): Promise<boolean> {
  return (await fetch(`${url}/healthz`)).ok;
}

/**
 * `wrangler dev --local` as `npm start` runs it, with `--test-scheduled` (GET /__scheduled runs
 * scheduled()), its local state in `persistTo`, and the configuration through env files (never
 * `--var`, which would put secrets on the process list).
 */
export async function wranglerRuntime(opts: { dir: string; vars: Record<string, string> }): Promise<Runtime> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const overrides = join(opts.dir, "overrides.env");
  writeFileSync(overrides, formatDotenv(opts.vars), { mode: 0o600 });
  return {
    name: "wrangler dev",
    url,
    async start() {
      const group = spawnGroup("wrangler dev", join(root, "node_modules/.bin/wrangler"), [
        "dev",
        "--local",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(await freePort()),
        "--test-scheduled",
        "--persist-to",
        join(opts.dir, "state"),
        "--env-file",
        join(root, ".dev.vars.example"),
        "--env-file",
        overrides,
        "--show-interactive-dev-session=false",
        "--log-level",
        process.env.WRANGLER_LOG ?? "warn",
      ], {
        WRANGLER_SEND_METRICS: "false",
        // No network here, and rekey never reads request.cf (see scripts/start.ts).
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      });
      await waitReady(group, "healthy /healthz", () => healthy(url));
      return group;
    },
  };
}

/**
 * `deno task start` on a Deno KV file (REKEY_DENO_KV_PATH): the start task's own command line from
 * deno.json, with the one change the README's self-hosted recipe makes for a database file, read
 * and write access to its directory (the task itself may read .dev.vars only, so it can open only
 * `:memory:` or Deno's default database). The configuration comes from the environment.
 */
export async function denoRuntime(opts: { dir: string; vars: Record<string, string> }): Promise<Runtime> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const task = (JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as { tasks: { start: string } }).tasks.start;
  const [command, ...words] = task.split(/\s+/);
  const args = words.map((w) => (w.startsWith("--allow-read=") ? `${w},${opts.dir}` : w));
  args.splice(args.indexOf("run") + 1, 0, `--allow-write=${opts.dir}`);
  if (!args.some((w) => w.startsWith("--allow-read="))) throw new Error("deno.json's start task has no --allow-read");
  return {
    name: "deno start task",
    url,
    async start() {
      const group = spawnGroup("deno start task", join(root, command!), args, {
        ...devVars,
        ...opts.vars,
        HOST: "127.0.0.1",
        PORT: String(port),
        REKEY_DENO_KV_PATH: join(opts.dir, "rekey.sqlite3"),
        NO_COLOR: "1",
      });
      await waitReady(group, "healthy /healthz", () => healthy(url));
      return group;
    },
  };
}
