/** Chat bots: Slack slash command and buttons, Discord interactions. See ./actions.ts for the rules. */
import { Hono } from "hono/tiny";
import type { AppEnv } from "../../app-env.ts";
import { discord } from "./discord.ts";
import { slack } from "./slack.ts";

export const chatops = new Hono<AppEnv>().route("/slack", slack).route("/discord", discord);
