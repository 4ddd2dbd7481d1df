/** Wire shapes: proto3 JSON, so empty repeated fields and unset fields are left out. */
import type { KeyRecord, SecretRecord } from "./state.ts";

export function keyView(k: KeyRecord) {
  return {
    id: k.id,
    type: k.type,
    description: k.description,
    ...(k.scopes.length ? { scopes: k.scopes } : {}),
    ...(k.endpoints.length ? { endpoints: k.endpoints } : {}),
    ...(k.apps.length ? { apps: k.apps.map((a) => ({ id: a.id, user_id: a.user_id })) } : {}),
    created_at: k.created_at,
    ...(k.expires_at ? { expires_at: k.expires_at } : {}),
    ...(k.authorized_idp_ids?.length ? { authorized_idp_ids: k.authorized_idp_ids } : {}),
    ...(k.organization_id ? { organization_id: k.organization_id } : {}),
  };
}

export function secretView(s: SecretRecord) {
  return {
    id: s.id,
    user_id: s.user_id,
    value: s.value,
    version: s.version,
    ...(s.description ? { description: s.description } : {}),
    created_at: s.created_at,
    modified_at: s.modified_at,
    expires_at: s.expires_at,
  };
}

export function page<T>(items: T[], query: URLSearchParams): T[] {
  const pageNo = Math.max(1, Number(query.get("page") ?? 1) || 1);
  const perPage = Math.min(1000, Math.max(1, Number(query.get("per_page") ?? 128) || 128));
  return items.slice((pageNo - 1) * perPage, pageNo * perPage);
}
