/**
 * The App JWT as GitHub checks it ("Generating a JSON Web Token (JWT) for a GitHub App"): RS256
 * under the App's public key, `iss` the App's id (or client id), `iat` not in the future (60 s of
 * drift allowed), `exp` after now and at most 10 minutes ahead.
 */
const b64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

export async function importAppPublicKey(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  return crypto.subtle.importKey("spki", b64url(body), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, [
    "verify",
  ]);
}

/** Null when the JWT is good; otherwise what GitHub would say. */
export async function checkAppJwt(token: string, app: { id: string; key: CryptoKey }, nowMs: number) {
  const parts = token.split(".");
  if (parts.length !== 3) return "A JSON web token could not be decoded";
  let header: { alg?: string };
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(b64url(parts[0]!)));
    claims = JSON.parse(new TextDecoder().decode(b64url(parts[1]!)));
  } catch {
    return "A JSON web token could not be decoded";
  }
  if (header.alg !== "RS256") return "A JSON web token could not be decoded";
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  if (!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", app.key, b64url(parts[2]!), signed))) {
    return "A JSON web token could not be decoded";
  }
  const now = Math.floor(nowMs / 1000);
  if (String(claims.iss) !== app.id) return "'Issuer' claim ('iss') must be an Integer";
  if (typeof claims.iat !== "number" || claims.iat > now + 60) {
    return "'Issued at' claim ('iat') must be an Integer representing a time in the past";
  }
  if (typeof claims.exp !== "number" || claims.exp <= now) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  }
  if (claims.exp - now > 600) return "'Expiration time' claim ('exp') is too far in the future";
  return null;
}
