/**
 * Reading a request body for `body` attributes without disturbing what is forwarded: at most
 * `capBytes` are read (a Content-Length above the cap is not read at all); the bytes read are
 * replayed in front of the rest, so the upstream receives the body byte for byte. Over the cap
 * the body attributes are absent — never an error.
 */

export interface BodyPrefix {
  /** The whole body when it is at most capBytes long; null when longer (or unreadable). */
  bytes: Uint8Array | null;
  /** What to forward instead of request.body (the same bytes), or null for no body. */
  forward: ReadableStream<Uint8Array> | Uint8Array | null;
}

/**
 * Reads up to `capBytes` (plus one chunk to learn that there is more) of `request`'s body.
 * @returns the body when it fits, and the body to forward in request.body's place.
 */
export async function readBodyPrefix(request: Request, capBytes: number): Promise<BodyPrefix> {
  const body = request.body;
  if (!body) return { bytes: new Uint8Array(0), forward: null };
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > capBytes) return { bytes: null, forward: body };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total <= capBytes) {
      const { done, value } = await reader.read();
      if (done) {
        const bytes = concat(chunks, total);
        return { bytes, forward: bytes };
      }
      chunks.push(value);
      total += value.length;
    }
  } catch {
    // The client went away mid-body: no attributes; the proxy reports the broken body upstream.
    return { bytes: null, forward: replay(chunks, reader) };
  }
  return { bytes: null, forward: replay(chunks, reader) };
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The chunks already read, then the rest of `reader`. */
function replay(chunks: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
