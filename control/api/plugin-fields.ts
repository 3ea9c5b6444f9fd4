/**
 * zod admission schemas of the edge-protection plugins (docs/edge-protection.md "Fields and
 * defaults"): one strict schema per plugin of PLUGIN_KINDS, so an unknown plugin or field is a
 * 400 naming `plugins.<kind>.<field>`. Everything the snapshot compiler would refuse is refused
 * here: regexes are compiled (control/compiler/regex; the offset is the error's `position`),
 * templates parsed (wasm/template.ts), CIDRs parsed (wasm/ip-text.ts). Fields with a default are
 * optional: the admin's form is stored as given and control/snapshot/plugin-options.ts fills the
 * defaults when read (as groups.balancing). What needs stored state (anti-scraping's suspectGroup
 * must be a group of the service) is checked at write by checkPluginGroups
 * (control/config/references.ts). Pure: zod rules only.
 */
import { z } from "@hono/zod-openapi";
import { parsePrefixText } from "../../wasm/ip-text.ts";
import { PLUGIN_KINDS, type PluginKind } from "../../wasm/plugins-section.ts";
import { parseTemplate, TemplateError } from "../../wasm/template.ts";
import { ConditionError, lowerLimitKey } from "../compiler/index.ts";
import { compileCaptureRegex, compileRegex, RegexError } from "../compiler/regex/index.ts";
import type { PluginInputs } from "../snapshot/plugin-options.ts";
import { nameField } from "./fields.ts";

/** An HTTP header name (RFC 9110 token), 1–256 characters. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/, "must be an HTTP header name (RFC 9110 token, 1–256 characters)");
/** A query parameter or cookie name: 1–256 printable ASCII characters without spaces. */
const paramName = z.string().regex(/^[\x21-\x7e]{1,256}$/, "must be 1–256 printable ASCII characters without spaces");
const message = z.string().max(1024);
const bool = z.boolean();

/** A template (wasm/template.ts): unknown variables and a lone `$` refused, with their offset. */
const template = (captures = false) =>
  z
    .string()
    .max(4096)
    .superRefine((text, ctx) => {
      try {
        parseTemplate(text, captures);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        ctx.addIssue({ code: "custom", message: error.message, params: { position: error.offset } });
      }
    });

/** An RE2 pattern compiled to a search DFA at admission; RegexError → the offset in the pattern. */
const pattern = (compile: (source: string) => unknown = compileRegex) =>
  z
    .string()
    .min(1)
    .max(1024)
    .superRefine((source, ctx) => {
      try {
        compile(source);
      } catch (error) {
        if (!(error instanceof RegexError)) throw error;
        ctx.addIssue({ code: "custom", message: error.message, params: { position: error.offset } });
      }
    });

/** An address or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
const cidr = z.string().superRefine((text, ctx) => {
  if (!parsePrefixText(text)) ctx.addIssue({ code: "custom", message: `"${text}" is not an IP address or CIDR` });
});

/**
 * A limit key's CEL expression, lowered at admission (control/compiler lowerLimitKey, which
 * memoises it for the snapshot build): a ConditionError → its message and position, as a
 * policy's condition (policy-input.ts).
 */
const limitKeyExpression = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((source, ctx) => {
    try {
      lowerLimitKey(source);
    } catch (error) {
      if (!(error instanceof ConditionError)) throw error;
      ctx.addIssue({
        code: "custom",
        message: `${error.message} (at position ${error.position})`,
        params: { position: error.position },
      });
    }
  })
  .openapi({
    example: 'request.header["x-tenant"] + ":" + request.ip',
    description: "CEL over the request attributes (docs/conditions.md) of type string, int or uint",
  });

/** APISIX key_type + key: where a limit reads its key. */
const limitKey = z
  .discriminatedUnion("from", [
    z.strictObject({ from: z.literal("ip") }),
    z.strictObject({ from: z.literal("consumer") }),
    z.strictObject({ from: z.enum(["header", "query", "cookie"]), name: paramName }),
    z.strictObject({ from: z.literal("cel"), expression: limitKeyExpression }),
  ])
  .openapi({ description: "Where the limit's key is read; an absent value (or a failing expression) falls back to the client address" });

const rejection = {
  key: limitKey.optional(),
  rejectedCode: z.number().int().min(200).max(599).optional(),
  rejectedMessage: message.optional(),
  group: nameField.optional().openapi({ description: "Routes with the same group share counters" }),
};

const limitCount = z.strictObject({
  count: z.number().int().min(1).max(1_000_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
  window: z.enum(["fixed", "sliding"]).optional(),
  policy: z.enum(["local", "cluster"]).optional(),
  failOpen: bool.optional(),
  showHeaders: bool.optional(),
  ...rejection,
});

const limitReq = z.strictObject({
  rate: z.number().gt(0).max(1_000_000_000),
  burst: z.number().min(0).max(1_000_000_000).optional(),
  nodelay: bool.optional(),
  ...rejection,
});

const limitConn = z.strictObject({
  conn: z.number().int().min(1).max(1_000_000_000),
  burst: z.number().int().min(0).max(1_000_000_000).optional(),
  delayMs: z.number().int().min(0).max(60_000).optional(),
  ...rejection,
});

const keyAuth = z.strictObject({
  header: headerName.optional(),
  query: paramName.optional(),
  hideCredentials: bool.optional(),
  anonymous: bool.optional(),
});

const jwtAuth = z.strictObject({
  header: headerName.optional(),
  query: paramName.optional(),
  cookie: paramName.optional(),
  keyClaim: z.string().min(1).max(256).optional(),
  clockSkewSeconds: z.number().int().min(0).max(600).optional(),
  hideCredentials: bool.optional(),
  anonymous: bool.optional(),
});

const ipRestriction = z
  .strictObject({
    allow: z.array(cidr).max(1000).optional(),
    deny: z.array(cidr).max(1000).optional(),
    message: message.optional(),
  })
  .superRefine((value, ctx) => {
    if ((value.allow ?? []).length === 0 && (value.deny ?? []).length === 0) {
      ctx.addIssue({ code: "custom", path: ["allow"], message: "at least one of allow or deny must list an address" });
    }
  });

const antiScrapingRule = z
  .strictObject({
    name: z.string().min(1).max(64),
    userAgent: pattern().optional(),
    missingHeaders: z.array(headerName).min(1).max(32).optional(),
    rate: z
      .strictObject({ count: z.number().int().min(1).max(1_000_000_000), windowSeconds: z.number().int().min(1).max(86_400) })
      .optional(),
    action: z.enum(["block", "challenge", "suspect"]),
  })
  .superRefine((rule, ctx) => {
    if (rule.userAgent === undefined && rule.missingHeaders === undefined && rule.rate === undefined) {
      ctx.addIssue({ code: "custom", path: ["userAgent"], message: "a rule needs at least one of userAgent, missingHeaders or rate" });
    }
  });

const antiScraping = z
  .strictObject({
    rules: z.array(antiScrapingRule).min(1).max(32),
    suspectGroup: nameField.optional().openapi({ description: "A group of the route's service; required when a rule suspects" }),
    exemptConsumers: bool.optional(),
  })
  .superRefine((value, ctx) => {
    const names = value.rules.map((r) => r.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.addIssue({ code: "custom", path: ["rules", i, "name"], message: `"${name}" is used twice` });
    });
    if (value.suspectGroup === undefined && value.rules.some((r) => r.action === "suspect")) {
      ctx.addIssue({ code: "custom", path: ["suspectGroup"], message: "required when a rule's action is suspect" });
    }
  });

/** Refuses names that differ only in case (header names are case-insensitive; compiled lowercase). */
const distinctIgnoringCase = (names: string[], ctx: z.RefinementCtx, at: (name: string, index: number) => PropertyKey) => {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name.toLowerCase()))
      ctx.addIssue({ code: "custom", path: [at(name, i)], message: `"${name}" is listed twice (header names ignore case)` });
    seen.add(name.toLowerCase());
  });
};
const headerTemplates = z
  .record(headerName, template())
  .superRefine((record, ctx) => distinctIgnoringCase(Object.keys(record), ctx, (name) => name));

/** Header edits: values are templates; names are lowercased when compiled. */
const headerEdits = z.strictObject({
  set: headerTemplates.optional(),
  add: headerTemplates.optional(),
  remove: z
    .array(headerName)
    .max(64)
    .superRefine((names, ctx) => distinctIgnoringCase(names, ctx, (_name, i) => i))
    .optional(),
});

const proxyRewrite = z
  .strictObject({
    uri: template()
      .refine((t) => t.startsWith("/") || t.startsWith("$"), "must start with / (or a variable)")
      .optional(),
    stripPrefix: z.string().min(2).max(1024).regex(/^\//, "must start with /").optional(),
    regexUri: z.tuple([pattern(compileCaptureRegex), template(true)]).optional(),
    host: z
      .string()
      .min(1)
      .max(255)
      .regex(
        /^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$/,
        "must be a host name or address, with an optional :port",
      )
      .optional(),
    passHost: z.enum(["pass", "node", "rewrite"]).optional(),
    headers: headerEdits.optional(),
    query: z.strictObject({ add: z.record(paramName, template()).optional(), remove: z.array(paramName).max(64).optional() }).optional(),
  })
  .superRefine((value, ctx) => {
    const paths = (["uri", "stripPrefix", "regexUri"] as const).filter((k) => value[k] !== undefined);
    if (paths.length > 1) ctx.addIssue({ code: "custom", path: [paths[1] as string], message: `only one of ${paths.join(", ")}` });
    if (value.passHost === "rewrite" && value.host === undefined) {
      ctx.addIssue({ code: "custom", path: ["host"], message: "passHost rewrite needs a host" });
    }
    if (value.host !== undefined && value.passHost !== undefined && value.passHost !== "rewrite") {
      ctx.addIssue({ code: "custom", path: ["passHost"], message: "a host sets passHost rewrite" });
    }
  });

const responseRewrite = z.strictObject({ headers: headerEdits.optional() });

const origin = z
  .string()
  .max(1024)
  .regex(/^\*$|^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/, "must be * or an origin (scheme://host[:port])");
const methodOrStar = z.string().regex(/^\*$|^[A-Za-z]{1,32}$/, "must be * or an HTTP method");
const headerOrStar = z.union([z.literal("*"), headerName]);

const cors = z
  .strictObject({
    allowOrigins: z.array(origin).min(1).max(100).optional(),
    allowOriginsByRegex: z.array(pattern()).max(32).optional(),
    allowMethods: z.array(methodOrStar).min(1).max(32).optional(),
    allowHeaders: z.array(headerOrStar).min(1).max(100).optional(),
    exposeHeaders: z.array(headerName).max(100).optional(),
    maxAgeSeconds: z.number().int().min(-1).max(86_400).optional(),
    allowCredentials: bool.optional(),
  })
  .superRefine((value, ctx) => {
    // APISIX refuses allow_credential with `*` (browsers ignore such answers anyway); the default origins are `*`.
    if (value.allowCredentials === true && (value.allowOrigins ?? ["*"]).includes("*")) {
      ctx.addIssue({ code: "custom", path: ["allowCredentials"], message: "not allowed with allowOrigins * (list the origins)" });
    }
  });

/** The admission schema of each plugin, by name (docs/edge-protection.md "Fields and defaults"). */
export const PLUGIN_SCHEMAS = {
  cors,
  "ip-restriction": ipRestriction,
  "jwt-auth": jwtAuth,
  "key-auth": keyAuth,
  "anti-scraping": antiScraping,
  "proxy-rewrite": proxyRewrite,
  "limit-conn": limitConn,
  "limit-count": limitCount,
  "limit-req": limitReq,
  "response-rewrite": responseRewrite,
} as const satisfies Record<PluginKind, z.ZodType>;

/** True only when A and B are the same type (each assignable to the other). */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;

// The stored shapes are declared once, in control/snapshot/plugin-options.ts; each schema must produce exactly that shape.
true satisfies Exactly<{ [K in PluginKind]: z.infer<(typeof PLUGIN_SCHEMAS)[K]> }, PluginInputs>;

const pluginShape = <Nullable extends boolean>(nullable: Nullable) =>
  Object.fromEntries(
    PLUGIN_KINDS.map((kind) => [kind, nullable ? PLUGIN_SCHEMAS[kind].nullable().optional() : PLUGIN_SCHEMAS[kind].optional()]),
  ) as { [K in PluginKind]: z.ZodOptional<Nullable extends true ? z.ZodNullable<(typeof PLUGIN_SCHEMAS)[K]> : (typeof PLUGIN_SCHEMAS)[K]> };

/** `plugins` on a service (PUT /v1/services/{appkey}); omitted: none. */
export const servicePluginsField = z.strictObject(pluginShape(false)).default({}).openapi("ServicePluginsInput", {
  description: "Default plugins of the service's routes, keyed by plugin name (docs/edge-protection.md)",
});

/** `plugins` on a route; a null value turns the service's plugin of that name off for the route. */
export const routePluginsField = z.strictObject(pluginShape(true)).default({}).openapi("RoutePluginsInput", {
  description: "The route's plugins, keyed by name; each replaces the service's of that name, null turns it off (docs/edge-protection.md)",
});

/** `plugins` as the API returns it: the stored form with every default filled in. */
export const ServicePluginsSchema = z.strictObject(pluginShape(false)).openapi("ServicePlugins");
export const RoutePluginsSchema = z.strictObject(pluginShape(true)).openapi("RoutePlugins");
