/**
 * The client's request body as forwarded, watched: when reading it fails (a malformed chunked
 * encoding, a body cut short of its Content-Length, the client gone), the upstream fetch fails
 * too, but the fault is the client's. `failed` tells the attempt loop so, and it answers 400 and
 * charges no upstream (worker/forward.ts; Envoy counts a downstream reset against no host).
 * Where the runtime has FixedLengthStream (workerd, Cloudflare) a declared Content-Length is kept,
 * so the upstream still gets a length rather than a chunked body.
 */

/** A watched body: the stream to forward and whether reading the client's side has failed. */
export interface ClientBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly failed: boolean;
  /** The reading error, when failed. */
  readonly error: unknown;
}

type FixedLengthStreamClass = new (length: number) => { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

/**
 * Wraps `source` (the request's body, or what worker/body.ts replays of it).
 * @param declaredLength the request's Content-Length, or NaN when it has none.
 */
export function watchClientBody(source: ReadableStream<Uint8Array>, declaredLength: number): ClientBody {
  const reader = source.getReader();
  const watched = {
    failed: false,
    error: undefined as unknown,
    stream: new ReadableStream<Uint8Array>({
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          watched.failed = true;
          watched.error = error;
          controller.error(error);
          return;
        }
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }),
  };
  const FixedLength = (globalThis as { FixedLengthStream?: FixedLengthStreamClass }).FixedLengthStream;
  if (FixedLength && Number.isSafeInteger(declaredLength) && declaredLength >= 0) {
    const fixed = new FixedLength(declaredLength);
    watched.stream.pipeTo(fixed.writable).catch(() => {}); // the fetch sees the error on `fixed.readable`
    watched.stream = fixed.readable;
  }
  return watched;
}
