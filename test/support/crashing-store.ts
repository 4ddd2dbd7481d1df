/**
 * Fault injection around a real store: the k-th write (counting from 0) commits, then throws, as
 * if the driver died right after persisting and before acting on the result. `fired()` tells
 * whether write k happened at all (if not, k is past the operation's last write).
 */
import type { Store } from "../../src/core/store/store.ts";

export function crashAfterWrite(inner: Store, k: number): { store: Store; fired: () => boolean } {
  let writes = 0;
  let armed = true;
  const crashAfter = <A extends unknown[], R>(write: (...a: A) => Promise<R>) => async (...a: A) => {
    const v = await write(...a);
    if (armed && writes++ === k) {
      armed = false;
      throw new Error("crash");
    }
    return v;
  };
  const store: Store = {
    getCredential: (id) => inner.getCredential(id),
    putCredential: crashAfter((r, e) => inner.putCredential(r, e)),
    deleteCredential: (id) => inner.deleteCredential(id),
    listCredentials: (o) => inner.listCredentials(o),
    listIndex: (o) => inner.listIndex(o),
    findCredentialByFingerprint: (fp) => inner.findCredentialByFingerprint(fp),
    findCredentialsByFingerprints: (fps) => inner.findCredentialsByFingerprints(fps),
    getRotation: (c, r) => inner.getRotation(c, r),
    putRotation: crashAfter((r, e) => inner.putRotation(r, e)),
    findRotation: (id) => inner.findRotation(id),
    listRotations: (id) => inner.listRotations(id),
  };
  return { store, fired: () => !armed };
}
