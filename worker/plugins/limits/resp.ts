/**
 * RESP2, the Redis serialization protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/):
 * commands encoded as arrays of bulk strings, replies parsed incrementally from the bytes as
 * they arrive. Written here rather than taken from npm: the registry's RESP parsers need Node's
 * Buffer, string_decoder or events (`redis-parser`, `respjs`), which the Worker bundle does not
 * have (it is built for the neutral platform, without nodejs_compat), and the one Uint8Array port
 * (`redis-on-workers`, a single release) imports `cloudflare:sockets` itself, starts a
 * setInterval from the parser and cannot be given another runtime's socket. The limits need
 * five reply types and one command form: ~120 lines.
 */

/** An error reply (`-ERR …`, `-NOSCRIPT …`): a value, not a thrown error, so pipelined replies stay in order. */
export class RespError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** A parsed reply: simple and bulk strings as UTF-8 text, integers as numbers, nil as null, arrays nested. */
export type RespReply = string | number | null | RespError | RespReply[];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;

/** `*N\r\n$len\r\narg\r\n…`: the command as RESP bytes (numbers in decimal). */
export function encodeCommand(args: readonly (string | number)[]): Uint8Array {
  let text = `*${args.length}\r\n`;
  for (const arg of args) {
    const value = String(arg);
    text += `$${encoder.encode(value).length}\r\n${value}\r\n`;
  }
  return encoder.encode(text);
}

/** Thrown for bytes that are not RESP2 (the connection is then unusable). */
export class RespProtocolError extends Error {}

/** Marks "the reply is not complete yet" inside the parser. */
const INCOMPLETE = Symbol("incomplete");

/**
 * Parses replies from a byte stream delivered in arbitrary chunks. `push` hands each complete
 * reply to `onReply`, in order, and keeps the bytes of an incomplete one for the next chunk.
 */
export class RespParser {
  private buffer: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private readonly onReply: (reply: RespReply) => void;

  constructor(onReply: (reply: RespReply) => void) {
    this.onReply = onReply;
  }

  /** Adds bytes. @throws RespProtocolError on bytes that are not RESP2. */
  push(chunk: Uint8Array): void {
    if (this.offset < this.buffer.length) {
      const joined = new Uint8Array(this.buffer.length - this.offset + chunk.length);
      joined.set(this.buffer.subarray(this.offset));
      joined.set(chunk, this.buffer.length - this.offset);
      this.buffer = joined;
    } else {
      this.buffer = chunk;
    }
    this.offset = 0;
    while (this.offset < this.buffer.length) {
      const start = this.offset;
      const reply = this.parse();
      if (reply === INCOMPLETE) {
        this.offset = start;
        return;
      }
      this.onReply(reply);
    }
  }

  /** The line from offset up to CRLF (offset moves past it), or INCOMPLETE. */
  private line(): string | typeof INCOMPLETE {
    const end = this.buffer.indexOf(CR, this.offset);
    if (end < 0 || end + 1 >= this.buffer.length) return INCOMPLETE;
    const text = decoder.decode(this.buffer.subarray(this.offset, end));
    this.offset = end + 2;
    return text;
  }

  private parse(): RespReply | typeof INCOMPLETE {
    const type = this.buffer[this.offset++];
    const line = this.line();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new RespError(line);
      case 0x3a: // :
        return integer(line);
      case 0x24: {
        // $
        const length = integer(line);
        if (length < 0) return null;
        if (this.offset + length + 2 > this.buffer.length) return INCOMPLETE;
        const text = decoder.decode(this.buffer.subarray(this.offset, this.offset + length));
        this.offset += length + 2;
        return text;
      }
      case 0x2a: {
        // *
        const count = integer(line);
        if (count < 0) return null;
        const items: RespReply[] = [];
        for (let i = 0; i < count; i++) {
          if (this.offset >= this.buffer.length) return INCOMPLETE;
          const item = this.parse();
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item);
        }
        return items;
      }
      default:
        throw new RespProtocolError(`not a RESP2 reply type: byte ${type}`);
    }
  }
}

function integer(text: string): number {
  const n = Number(text);
  if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(n)) throw new RespProtocolError(`not a RESP integer: "${text}"`);
  return n;
}
