/**
 * The actors of the audit trail (the vocabulary is `actorSchema`, core/bus/fields.ts): the fixed
 * names, the actor of each alert source, and the actor of a rotation requested before actors
 * existed, whose record still names its requester the old way.
 *
 * Runtime-neutral.
 */
import type { BusEvent } from "../bus/events.ts";
import { type Actor, actorSchema, type alertSourceSchema } from "../bus/fields.ts";
import type * as z from "zod/mini";

export type { Actor } from "../bus/fields.ts";

/** Whoever holds REKEY_ADMIN_TOKEN: the API's bearer token, the dashboard's token sign-in. */
export const ADMIN_TOKEN_ACTOR = "admin-token";
/** The cron sweep (and what it owes: grace periods that end, owed revocations). */
export const SWEEP_ACTOR = "sweep";

/** The actor of an alert source's rotations: GitHub's partner alerts are `github-partner`. */
export function alertActor(source: z.infer<typeof alertSourceSchema>): Actor {
  return source === "github" ? "github-partner" : source === "webhook" ? "webhook" : ADMIN_TOKEN_ACTOR;
}

/**
 * The actor of a rotation a repository's secret scanning alert asked for (`POST
 * /hooks/github/events`, the cron backstop): the alert itself, `github:owner/repo#12`. A name with
 * 32 hex characters in a row (the shape of a Clarifai key, chosen by whoever named the repository)
 * is refused by `actorSchema`: the repository is then named by GitHub's numeric id,
 * `github:repo-id:123456#12`, or, without one, the GitHub alert source's own actor.
 */
export function repoAlertActor(repository: string, number: number, repositoryId?: number): Actor {
  const named = `github:${repository}#${number}`;
  if (actorSchema.safeParse(named).success) return named;
  const byId = `github:repo-id:${repositoryId}#${number}`;
  return repositoryId !== undefined && actorSchema.safeParse(byId).success ? byId : alertActor("github");
}

/** Requesters recorded before actors existed, as the issue-18 vocabulary names them. */
const LEGACY: Record<string, Actor> = {
  admin: ADMIN_TOKEN_ACTOR,
  ui: ADMIN_TOKEN_ACTOR,
  cron: SWEEP_ACTOR,
  github: "github-partner",
};

/** A rotation's `requested_by` as an actor (it is one for every rotation begun since issue 18). */
export function actorOf(requestedBy: string): Actor | undefined {
  const actor = LEGACY[requestedBy] ?? requestedBy;
  return actorSchema.safeParse(actor).success ? actor : undefined;
}

/** Who did what an event records, for events that do not carry an `actor` of their own. */
const SOURCE_ACTORS: Record<string, Actor> = {
  "/rekey/cron": SWEEP_ACTOR,
  "/rekey/hooks/github": "github-partner",
  "/rekey/hooks/webhook": "webhook",
};

/**
 * The actor an audit line shows: the event's own `actor`, else a consumer Worker's name
 * (`credential.read`), else its source's. Engine events carry their rotation's requester.
 */
export function auditActor(event: BusEvent): string | undefined {
  const data = event.data as Record<string, unknown>;
  if (typeof data.actor === "string") return data.actor;
  if (typeof data.consumer === "string") return `consumer:${data.consumer}`;
  return SOURCE_ACTORS[event.source];
}
