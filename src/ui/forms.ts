import * as z from "zod";

/** Credential and rotation ids in paths and queries: `cred_…`, `rot_…`. */
export const idSchema = z.string().min(1).max(64).regex(/^[a-z]{1,20}_[0-9a-z]{1,40}$/);
