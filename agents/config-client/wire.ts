/**
 * The delivery API's wire format (docs/config-center.md "Delivery API"), in one place: the URLs
 * of `GET /v1/config/fetch` and `GET /v1/config/watch`, and the parsing of their JSON answers.
 * A change of field names on control's side is a change here only.
 */
import { z } from "zod";

/** The formats a namespace can have (docs/config-center.md "Model"). */
export const CONFIG_FORMATS = ["properties", "json", "yaml", "text"] as const;
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

/**
 * Who is asking: what gray rules match on (docs/config-center.md "Gray rules"). Every field is
 * optional; an instance with none gets main releases only.
 */
export interface ConfigIdentity {
  instanceId?: string;
  /** `ip` or `ip:port`. */
  address?: string;
  zone?: string;
  cell?: string;
  lane?: string;
  version?: string;
}

/** One item of a fetch answer: a namespace's effective release for this instance. */
export interface FetchedRelease {
  namespace: string;
  format: ConfigFormat;
  /** The release id (monotonic, one sequence for all namespaces). */
  release: number;
  /** SHA-256 hex of `content`. */
  hash: string;
  /** The gray's id when this instance gets a gray release, else null (main). */
  gray: number | null;
  content: string;
}

/** One item of a watch answer: a namespace whose effective release differs from `known`. */
export interface ChangedNamespace {
  namespace: string;
  release: number;
}

/** An answer that does not have the contract's shape. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

const FetchAnswer = z.object({
  items: z.array(
    z.object({
      namespace: z.string().min(1),
      format: z.enum(CONFIG_FORMATS),
      release: z.number().int().positive(),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      gray: z.number().int().nullable().default(null),
      content: z.string(),
    }),
  ),
});

const WatchAnswer = z.object({
  changed: z.array(z.object({ namespace: z.string().min(1), release: z.number().int().nonnegative() })),
});

/** Query parameters naming the instance: appkey, env and the identity fields that are set. */
function identityQuery(appkey: string, env: string, identity: ConfigIdentity): URLSearchParams {
  const query = new URLSearchParams({ appkey, env });
  for (const key of ["instanceId", "address", "zone", "cell", "lane", "version"] as const) {
    const value = identity[key];
    if (value) query.set(key, value);
  }
  return query;
}

/** `GET /v1/config/fetch?appkey&env&namespaces=a,b&…identity`. */
export function fetchUrl(controlUrl: string, appkey: string, env: string, namespaces: string[], identity: ConfigIdentity): string {
  const query = identityQuery(appkey, env, identity);
  query.set("namespaces", namespaces.join(","));
  return `${controlUrl.replace(/\/+$/, "")}/v1/config/fetch?${query}`;
}

/**
 * `GET /v1/config/watch?appkey&env&known=a:12,b:0&wait=60&…identity`.
 * @param known namespace → the release id the client has (0: none).
 * @param waitSeconds how long control may hold the poll (1–90).
 */
export function watchUrl(
  controlUrl: string,
  appkey: string,
  env: string,
  known: ReadonlyMap<string, number>,
  waitSeconds: number,
  identity: ConfigIdentity,
): string {
  const query = identityQuery(appkey, env, identity);
  query.set("known", [...known].map(([namespace, release]) => `${namespace}:${release}`).join(","));
  query.set("wait", String(waitSeconds));
  return `${controlUrl.replace(/\/+$/, "")}/v1/config/watch?${query}`;
}

/** The items of a fetch answer (200). @throws WireError when the body is not the contract's shape. */
export function parseFetchAnswer(body: unknown): FetchedRelease[] {
  const parsed = FetchAnswer.safeParse(body);
  if (!parsed.success) throw new WireError(`fetch answer: ${describe(parsed.error)}`);
  return parsed.data.items;
}

/** The namespaces a watch answer (200) names. @throws WireError when the body is not the contract's shape. */
export function parseWatchAnswer(body: unknown): ChangedNamespace[] {
  const parsed = WatchAnswer.safeParse(body);
  if (!parsed.success) throw new WireError(`watch answer: ${describe(parsed.error)}`);
  return parsed.data.changed;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
}
