/**
 * Durable Object ids by name, computed once per isolate (bench P5: the credential's cell is named
 * at every read and write of a rotation, several times a request, and `idFromName` hashes the
 * name each time).
 *
 * Safe to keep: an id is a pure function of the namespace and the name (`idFromName` derives it
 * deterministically, the same in every isolate and request), and an id is a plain value, not an
 * I/O object bound to the request that made it, unlike the stub `get(id)` returns, which is
 * therefore still made per call. Bounded, oldest evicted first, so a sweep over many credentials
 * cannot grow it without end. `kept`: the map itself, for tests.
 */
export function durableIds(
  ns: Pick<DurableObjectNamespace, "idFromName">,
  max = 1024,
  kept = new Map<string, DurableObjectId>(),
): (name: string) => DurableObjectId {
  return (name) => {
    let id = kept.get(name);
    if (!id) {
      if (kept.size >= max) kept.delete(kept.keys().next().value!);
      kept.set(name, id = ns.idFromName(name));
    }
    return id;
  };
}
