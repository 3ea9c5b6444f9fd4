/**
 * `body` attributes (Oceanus' Body passway): a value read from a JSON or form-urlencoded body
 * by name. JSON: the name is a dotted path (`user.id` → body.user.id; numeric segments index
 * arrays), else the top-level key of that name; strings are themselves, numbers their source
 * text (exact beyond 2^53), booleans `true`/`false`; null, objects and arrays are absent.
 * Form: the first value of the field of that name. Other media types, malformed JSON or a body
 * over the route's cap: absent. Pure: bytes and the Content-Type in, a lookup out.
 */

/** A JSON number kept as its source text (JSON.parse's reviver `context.source`, V8 ≥ 11.4). */
class NumberText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
const keepNumberText: Reviver = (_key, value, context) =>
  typeof value === "number" ? new NumberText(context?.source ?? String(value)) : value;

/** A lookup by attribute name, or undefined when the body has no such value. */
export type BodyLookup = (name: string) => string | undefined;

const NONE: BodyLookup = () => undefined;

/**
 * @param bytes the whole body (null when over the cap).
 * @param contentType the request's Content-Type header.
 */
export function bodyLookup(bytes: Uint8Array | null, contentType: string | null): BodyLookup {
  if (!bytes || !contentType) return NONE;
  const media = (contentType.split(";")[0] as string).trim().toLowerCase();
  const text = () => new TextDecoder().decode(bytes);
  if (media === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams(text());
    return (name) => form.get(name) ?? undefined;
  }
  if (media === "application/json" || media.endsWith("+json")) {
    let root: unknown;
    try {
      root = JSON.parse(text(), keepNumberText as Parameters<typeof JSON.parse>[1]);
    } catch {
      return NONE;
    }
    return (name) => leaf(walk(root, name.split(".")) ?? (isRecord(root) ? root[name] : undefined));
  }
  return NONE;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function walk(node: unknown, path: string[]): unknown {
  let at = node;
  for (const segment of path) {
    if (Array.isArray(at) && /^(?:0|[1-9][0-9]*)$/.test(segment)) at = at[Number(segment)];
    else if (isRecord(at) && Object.hasOwn(at, segment)) at = at[segment];
    else return undefined;
  }
  return at;
}

function leaf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof NumberText) return v.text;
  if (typeof v === "boolean") return v ? "true" : "false";
  return undefined;
}
