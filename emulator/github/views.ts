/**
 * GitHub's JSON shapes for what the emulator serves, with every field GitHub's OpenAPI
 * description (`@octokit/openapi`, api.github.com) requires: the tests validate each answer
 * against it. URLs point at api.github.com / github.com, as GitHub's own answers do: they are
 * data, never followed by rekey.
 */
import type { Account, Alert, GithubState, Installation, Repository } from "./state.ts";

const API = "https://api.github.com";
const WEB = "https://github.com";
const b64 = (s: string) => btoa(s);

export function userView(a: Account) {
  // A bot's login (`rekey[bot]`) needs escaping in a URL, as GitHub escapes it.
  const name = encodeURIComponent(a.login);
  const u = `${API}/users/${name}`;
  return {
    login: a.login,
    id: a.id,
    node_id: b64(`04:${a.type}${a.id}`),
    avatar_url: `https://avatars.githubusercontent.com/u/${a.id}?v=4`,
    gravatar_id: "",
    url: a.type === "Organization" ? `${API}/orgs/${name}` : u,
    html_url: `${WEB}/${name}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: a.type,
    site_admin: false,
  };
}

/** `simple-repository`. */
export function simpleRepositoryView(r: Repository) {
  const u = `${API}/repos/${r.full_name}`;
  return {
    id: r.id,
    node_id: b64(`010:Repository${r.id}`),
    name: r.name,
    full_name: r.full_name,
    owner: userView(r.owner),
    private: true,
    html_url: `${WEB}/${r.full_name}`,
    description: null,
    fork: false,
    url: u,
    archive_url: `${u}/{archive_format}{/ref}`,
    assignees_url: `${u}/assignees{/user}`,
    blobs_url: `${u}/git/blobs{/sha}`,
    branches_url: `${u}/branches{/branch}`,
    collaborators_url: `${u}/collaborators{/collaborator}`,
    comments_url: `${u}/comments{/number}`,
    commits_url: `${u}/commits{/sha}`,
    compare_url: `${u}/compare/{base}...{head}`,
    contents_url: `${u}/contents/{+path}`,
    contributors_url: `${u}/contributors`,
    deployments_url: `${u}/deployments`,
    downloads_url: `${u}/downloads`,
    events_url: `${u}/events`,
    forks_url: `${u}/forks`,
    git_commits_url: `${u}/git/commits{/sha}`,
    git_refs_url: `${u}/git/refs{/sha}`,
    git_tags_url: `${u}/git/tags{/sha}`,
    issue_comment_url: `${u}/issues/comments{/number}`,
    issue_events_url: `${u}/issues/events{/number}`,
    issues_url: `${u}/issues{/number}`,
    keys_url: `${u}/keys{/key_id}`,
    labels_url: `${u}/labels{/name}`,
    languages_url: `${u}/languages`,
    merges_url: `${u}/merges`,
    milestones_url: `${u}/milestones{/number}`,
    notifications_url: `${u}/notifications{?since,all,participating}`,
    pulls_url: `${u}/pulls{/number}`,
    releases_url: `${u}/releases{/id}`,
    stargazers_url: `${u}/stargazers`,
    statuses_url: `${u}/statuses/{sha}`,
    subscribers_url: `${u}/subscribers`,
    subscription_url: `${u}/subscription`,
    tags_url: `${u}/tags`,
    teams_url: `${u}/teams`,
    trees_url: `${u}/git/trees{/sha}`,
    hooks_url: `${u}/hooks`,
  };
}

/** `repository-webhooks`: the repository as webhook payloads carry it. */
export function webhookRepositoryView(r: Repository, created: string) {
  return {
    ...simpleRepositoryView(r),
    clone_url: `${WEB}/${r.full_name}.git`,
    default_branch: "main",
    forks: 0,
    forks_count: 0,
    git_url: `git://github.com/${r.full_name}.git`,
    has_downloads: true,
    has_issues: true,
    has_projects: true,
    has_wiki: false,
    has_pages: false,
    homepage: null,
    language: "TypeScript",
    archived: false,
    disabled: false,
    mirror_url: null,
    open_issues: 0,
    open_issues_count: 0,
    license: null,
    pushed_at: created,
    size: 1,
    ssh_url: `git@github.com:${r.full_name}.git`,
    stargazers_count: 0,
    svn_url: `${WEB}/${r.full_name}`,
    watchers: 0,
    watchers_count: 0,
    visibility: "private",
    created_at: created,
    updated_at: created,
  };
}

/** `organization-simple-webhooks`. */
export function organizationView(a: Account) {
  const u = `${API}/orgs/${a.login}`;
  return {
    login: a.login,
    id: a.id,
    node_id: b64(`012:Organization${a.id}`),
    url: u,
    repos_url: `${u}/repos`,
    events_url: `${u}/events`,
    hooks_url: `${u}/hooks`,
    issues_url: `${u}/issues`,
    members_url: `${u}/members{/member}`,
    public_members_url: `${u}/public_members{/member}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${a.id}?v=4`,
    description: null,
  };
}

export function installationView(i: Installation, appId: string) {
  return {
    id: i.id,
    account: userView(i.account),
    repository_selection: i.repositories === "all" ? "all" : "selected",
    access_tokens_url: `${API}/app/installations/${i.id}/access_tokens`,
    repositories_url: `${API}/installation/repositories`,
    html_url: i.account.type === "Organization"
      ? `${WEB}/organizations/${i.account.login}/settings/installations/${i.id}`
      : `${WEB}/settings/installations/${i.id}`,
    app_id: Number(appId) || 1,
    target_id: i.account.id,
    target_type: i.account.type,
    permissions: i.permissions,
    events: ["secret_scanning_alert"],
    created_at: i.created_at,
    updated_at: i.created_at,
    single_file_name: null,
    app_slug: "rekey",
    suspended_by: null,
    suspended_at: null,
  };
}

/** `secret-scanning-alert` (and, with `repository`, `organization-secret-scanning-alert`). */
export function alertView(state: GithubState, a: Alert, opts: { withRepository?: boolean; webhook?: boolean } = {}) {
  const repo = state.repositories.get(a.repository)!;
  const u = `${API}/repos/${repo.full_name}/secret-scanning/alerts/${a.number}`;
  const base = {
    number: a.number,
    created_at: a.created_at,
    updated_at: a.updated_at,
    url: u,
    html_url: `${WEB}/${repo.full_name}/security/secret-scanning/${a.number}`,
    locations_url: `${u}/locations`,
    resolution: a.resolution,
    resolved_at: a.resolved_at,
    resolved_by: a.resolved_at ? userView(state.account("rekey[bot]", "User")) : null,
    resolution_comment: a.resolution_comment,
    secret_type: a.secret_type,
    secret_type_display_name: a.secret_type_display_name,
    validity: "unknown",
    push_protection_bypassed: false,
    push_protection_bypassed_by: null,
    push_protection_bypassed_at: null,
    publicly_leaked: a.publicly_leaked,
    multi_repo: false,
  };
  // Webhook payloads carry neither the state nor the secret: a receiver fetches the alert.
  if (opts.webhook) return base;
  return {
    ...base,
    state: a.state,
    secret: a.secret,
    ...(opts.withRepository ? { repository: simpleRepositoryView(repo) } : {}),
  };
}
