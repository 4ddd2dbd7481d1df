/**
 * Durable Object ids by name, computed once per isolate (bench P5: the credential's cell is named
 * at every read and write of a rotation, several times a request, and `idFromName` hashes the
 * name each time).
 *
 * Safe to keep: an id is a pure function of the namespace and the name (`idFromName` derives it
 * deterministically, the same in every isolate and request), and an id is a plain value, not an
 * I/O object bound to the request that made it, unlike the stub `get(id)` returns, which is
 * therefore still made per call. Bounded, oldest evicted first, so a sweep over many credentials
 * cannot grow it without end.
 */
export class DurableIds {
  readonly #ids = new Map<string, DurableObjectId>();

  constructor(
    private readonly ns: Pick<DurableObjectNamespace, "idFromName">,
    private readonly max = 1024,
  ) {}

  of(name: string): DurableObjectId {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.ns.idFromName(name);
      if (this.#ids.size >= this.max) this.#ids.delete(this.#ids.keys().next().value!);
      this.#ids.set(name, id);
    }
    return id;
  }

  /** How many ids are kept (tests). */
  get size(): number {
    return this.#ids.size;
  }
}
