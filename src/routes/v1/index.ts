import { Hono } from "hono/tiny";
import type { AppEnv } from "../../app-env.ts";
import { adminAuth } from "../../http/admin-auth.ts";
import { credentials } from "./credentials.ts";
import { rotations } from "./rotations.ts";
import { audit } from "./audit.ts";
import { plan } from "./plan.ts";
import { maintenance } from "./maintenance.ts";
import { summary } from "./summary.ts";

/** The bearer-authenticated admin API. */
export const v1 = new Hono<AppEnv>()
  .use("*", adminAuth)
  .route("/credentials", credentials)
  .route("/rotations", rotations)
  .route("/audit", audit)
  .route("/plan", plan)
  .route("/maintenance", maintenance)
  .route("/summary", summary);
