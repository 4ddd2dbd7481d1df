/**
 * Scope checks from `cl_depending_scopes` (reference §4.1, §5.1, §6). `All` covers everything;
 * `Keys:Get` and `Keys_Get` are the same scope (the server's spelling is unverified, so both are
 * accepted and stored normalised to the underscore form).
 */
export const normaliseScope = (s: string) => s.replace(":", "_");

export const REQUIRED = {
  PostKeys: ["Apps_Get", "Keys_Add", "Keys_Get"],
  ListKeys: ["Keys_Get"],
  ListAppKeys: ["Apps_Get", "Keys_Get"],
  GetKey: ["Keys_Get"],
  PatchKeys: ["Keys_Add", "Keys_Get"],
  DeleteKey: ["Keys_Add", "Keys_Delete", "Keys_Get"],
  PostSecrets: ["Secrets_Add"],
  ListSecrets: ["Secrets_Get"],
  GetSecret: ["Secrets_Get"],
  PatchSecrets: ["Secrets_Add"],
  DeleteSecrets: ["Secrets_Delete"],
} as const;

export type Operation = keyof typeof REQUIRED;

/**
 * `Key.endpoints` holds "the endpoint-level scopes this key has" (resources.proto); each is a
 * fully qualified method (`EndpointDeps.endpoint`, service.proto), e.g. `/clarifai.api.V2/ListKeys`.
 * The bare method name is accepted too, as for scope spellings. An empty list restricts nothing.
 */
export const ENDPOINT_PREFIX = "/clarifai.api.V2/";
export const normaliseEndpoint = (
  e: string,
) => (e.startsWith(ENDPOINT_PREFIX) ? e.slice(ENDPOINT_PREFIX.length) : e.replace(/^\//, ""));

export function endpointAllowed(endpoints: string[], method: string): boolean {
  return endpoints.length === 0 || endpoints.some((e) => normaliseEndpoint(e) === method);
}

export function missing(held: string[], needed: readonly string[]): string[] {
  const have = new Set(held.map(normaliseScope));
  if (have.has("All")) return [];
  return needed.filter((s) => !have.has(s));
}
