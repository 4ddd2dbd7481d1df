import type { ReencryptJob } from "../core/maintenance/job.ts";
import type { RegistryFigures } from "../core/summary/summary.ts";
import { CSRF_FIELD } from "./csrf.ts";
import { Layout } from "./layout.tsx";
import { Time } from "./parts.tsx";
import { formatMs } from "./charts.ts";

export interface MaintenancePageProps {
  nonce: string;
  csrf: string;
  now: number;
  /** The version that seals new values, and every version REKEY_ENCRYPTION_KEYS holds. */
  currentVersion: number;
  versions: number[];
  figures: RegistryFigures;
  job: ReencryptJob | null;
  flash?: string;
}

/** Credentials with a value under another version than the current one, or in the old AAD format. */
export function behind(figures: RegistryFigures, current: number): number {
  return figures.sealings.filter((s) => s.legacy || s.versions.some((v) => v !== current)).reduce((n, s) => n + s.credentials, 0);
}

/**
 * A job's progress from its own counters against the registry's size now: credentials a second
 * (from its start to its last batch) and, while it runs, the time left at that rate.
 */
function progressOf(job: ReencryptJob, registry: number): { total: number; rate: number | null; etaMs: number | null } {
  const total = Math.max(registry, job.scanned);
  const elapsed = (Date.parse(job.finished_at ?? job.updated_at) - Date.parse(job.started_at)) / 1000;
  const rate = job.scanned > 0 && elapsed > 0 ? job.scanned / elapsed : null;
  const etaMs = job.state === "running" && rate ? ((total - job.scanned) / rate) * 1000 : null;
  return { total, rate, etaMs };
}

/** GET /ui/maintenance: the master key's versions, where the records stand, the re-encryption job. */
export function MaintenancePage(props: MaintenancePageProps) {
  const f = props.figures;
  const late = behind(f, props.currentVersion);
  const job = props.job;
  const progress = job ? progressOf(job, f.coverage.credentials) : null;
  const inRing = new Set(props.versions);
  return (
    <Layout title="Maintenance" nonce={props.nonce} csrf={props.csrf} section="maintenance">
      <h1>Re-encryption of rekey's own key</h1>
      {props.flash ? (
        <p class="flash" role="status">
          {props.flash}
        </p>
      ) : null}
      <div class="card">
        <p>
          New values are sealed under key version <strong data-field="current-version">{props.currentVersion}</strong>; REKEY_ENCRYPTION_KEYS holds version{props.versions.length === 1 ? "" : "s"}{" "}
          {props.versions.join(", ")}. Retire an old version only after a re-encryption finishes with nothing remaining.
        </p>
        <table>
          <thead>
            <tr>
              <th>Key version</th>
              <th>Credentials with a value under it</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {f.key_versions.map((k) => (
              <tr data-key-version={String(k.version)} data-credentials={String(k.credentials)}>
                <td class="mono">{k.version}</td>
                <td>{k.credentials}</td>
                <td>{k.version === props.currentVersion ? <span class="badge ok">current</span> : inRing.has(k.version) ? <span class="badge warn">older</span> : <span class="badge bad">not in the key ring: cannot open</span>}</td>
              </tr>
            ))}
            {f.legacy_sealed ? (
              <tr data-key-version="legacy" data-credentials={String(f.legacy_sealed)}>
                <td>sealed before fields were bound</td>
                <td>{f.legacy_sealed}</td>
                <td>
                  <span class="badge warn">upgraded by a re-encryption</span>
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
        <p data-field="behind" data-count={String(late)}>
          {late === 0 ? `All ${f.coverage.credentials} credentials are under the current version.` : `${late} of ${f.coverage.credentials} credentials hold a value to move to version ${props.currentVersion}.`}
          {f.coverage.partial ? " (Counted over part of the registry only.)" : ""}
        </p>
      </div>
      <h2>Re-encryption job</h2>
      {job && progress ? (
        <div class="card" data-job={job.id} data-state={job.state}>
          <p>
            Job <code>{job.id}</code> to version {job.target_version}, requested by {job.requested_by}: <strong>{job.state}</strong>
            {job.state === "done" ? (
              <>
                {" "}
                <Time iso={job.finished_at} now={props.now} />
              </>
            ) : null}
            .
          </p>
          <label for="reencrypt-progress">
            {job.scanned} of {progress.total} credentials scanned
          </label>
          <progress id="reencrypt-progress" max={String(Math.max(1, progress.total))} value={String(job.scanned)}>
            {`${job.scanned} of ${progress.total}`}
          </progress>
          <dl>
            <dt>Rate</dt>
            <dd data-field="rate">{progress.rate === null ? "—" : `${progress.rate.toFixed(1)} credentials a second`}</dd>
            <dt>Estimate</dt>
            <dd data-field="eta">{job.state === "done" ? "finished" : progress.etaMs === null ? "—" : `about ${formatMs(Math.round(progress.etaMs))} left`}</dd>
            <dt>Rewritten</dt>
            <dd>{job.rewritten} credentials</dd>
            <dt>Remaining</dt>
            <dd class={job.remaining ? "bad" : ""}>
              {job.remaining} sealed values left behind{job.remaining ? " (would not open, or kept changing): look before retiring a version" : ""}
            </dd>
            <dt>Started</dt>
            <dd>
              <Time iso={job.started_at} now={props.now} />
            </dd>
          </dl>
        </div>
      ) : (
        <p class="muted">No re-encryption has run yet.</p>
      )}
      <div class="actions">
        <a class="button" href="/ui/maintenance/reencrypt">
          {job?.state === "running" ? "Resume the re-encryption…" : "Re-encrypt every value…"}
        </a>
      </div>
    </Layout>
  );
}

/** The confirmation of a re-encryption: a page of its own, so it needs no script. */
export function ReencryptConfirmPage(props: { nonce: string; csrf: string; currentVersion: number; behind: number; running: boolean }) {
  return (
    <Layout title="Confirm re-encryption" nonce={props.nonce} csrf={props.csrf} section="maintenance">
      <h1>{props.running ? "Resume the re-encryption?" : `Re-encrypt every value to version ${props.currentVersion}?`}</h1>
      <div class="card">
        <p>
          {props.running
            ? "A re-encryption is running: its batch at the saved position is published again, and it carries on from there."
            : `rekey walks the whole registry in batches on the bus and seals every value again under key version ${props.currentVersion} (${props.behind} credentials hold a value to move). Rotations go on meanwhile; nothing is revoked or rotated.`}
        </p>
        <form method="post" action="/ui/maintenance/reencrypt">
          <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
          <div class="actions">
            <button class="primary" type="submit">
              {props.running ? "Yes, resume it" : "Yes, re-encrypt now"}
            </button>
            <a class="button" href="/ui/maintenance">
              Cancel
            </a>
          </div>
        </form>
      </div>
    </Layout>
  );
}
