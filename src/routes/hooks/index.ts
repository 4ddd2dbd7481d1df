import { Hono } from "hono/tiny";
import type { AppEnv } from "../../app-env.ts";
import { webhook } from "./webhook.ts";
import { github } from "./github.ts";
import { githubEvents } from "./github-events.ts";

/** Signed inbound alerts. Each route verifies its own signature scheme on the raw bytes. */
export const hooks = new Hono<AppEnv>().route("/github", github).route("/github", githubEvents).route(
  "/alerts",
  webhook,
);
