/**
 * A route's plugins as the gateway runs them (docs/edge-protection.md "In the gateway"): built
 * once per snapshot from the PLUGINS section, run per request in PLUGIN_KINDS order until one
 * answers. A run of synchronous plugins stays synchronous (no promise per request); the first
 * plugin that returns a promise makes the rest of the run async.
 */
import { PLUGIN_KINDS, type PluginKind, type PluginsSection, type RoutePlugins } from "../../wasm/plugins-section.ts";
import type { AccessPlugin, PluginContext } from "./context.ts";

/**
 * Builds one plugin of a route from its section entry. `undefined` for a kind this gateway does
 * not build (none today: every kind has a factory).
 */
export type PluginFactories<Shared> = {
  [K in PluginKind]: (config: NonNullable<RoutePlugins[K]>, shared: Shared) => AccessPlugin;
};

/** One route's plugins, in run order. */
export class RoutePipeline {
  readonly plugins: readonly AccessPlugin[];
  constructor(plugins: readonly AccessPlugin[]) {
    this.plugins = plugins;
  }

  /**
   * Runs the plugins on `c` until one answers. @returns that answer, or null when the request
   * goes on to routing; a promise of the same once a plugin has answered asynchronously.
   */
  run(c: PluginContext): Response | null | Promise<Response | null> {
    const plugins = this.plugins;
    for (let i = 0; i < plugins.length; i++) {
      const answer = (plugins[i] as AccessPlugin).access(c);
      if (answer === null) continue;
      if (answer instanceof Response) return answer;
      return this.continueAsync(answer, c, i + 1);
    }
    return null;
  }

  private async continueAsync(pending: Promise<Response | null>, c: PluginContext, next: number): Promise<Response | null> {
    const first = await pending;
    if (first !== null) return first;
    for (let i = next; i < this.plugins.length; i++) {
      const answer = await (this.plugins[i] as AccessPlugin).access(c);
      if (answer !== null) return answer;
    }
    return null;
  }
}

/** Every route's pipeline of one snapshot, by routes.id. */
export class PluginTable {
  private readonly byRoute: Map<number, RoutePipeline>;
  /** No route of the snapshot has plugins: the gateway skips the lookup altogether. */
  readonly empty: boolean;

  private constructor(byRoute: Map<number, RoutePipeline>) {
    this.byRoute = byRoute;
    this.empty = byRoute.size === 0;
  }

  /** The table of a snapshot without a PLUGINS section. */
  static readonly NONE = new PluginTable(new Map());

  /**
   * Builds every route's plugins of `section` (null: none), in PLUGIN_KINDS order.
   * @param shared what the factories share: per-isolate state (counters that outlive snapshot
   *   swaps) and per-snapshot lookups (the consumers).
   * @throws whatever a factory throws for a config it cannot build (the snapshot is then refused).
   */
  static build<Shared>(section: PluginsSection | null, factories: PluginFactories<Shared>, shared: Shared): PluginTable {
    if (!section || section.routes.length === 0) return PluginTable.NONE;
    const byRoute = new Map<number, RoutePipeline>();
    for (const { route, plugins } of section.routes) {
      const built: AccessPlugin[] = [];
      for (const kind of PLUGIN_KINDS) {
        const config = plugins[kind];
        if (config === undefined) continue;
        const factory = factories[kind] as (config: unknown, shared: Shared) => AccessPlugin;
        built.push(factory(config, shared));
      }
      if (built.length > 0) byRoute.set(route, new RoutePipeline(built));
    }
    return new PluginTable(byRoute);
  }

  /** Route `routeId`'s pipeline, or undefined when it has no plugins. O(1). */
  get(routeId: number): RoutePipeline | undefined {
    return this.byRoute.get(routeId);
  }
}

/**
 * `response` with the plugins' header edits applied (response-rewrite, CORS, RateLimit). An
 * upstream's response may have immutable headers (workerd, Deno): then it is re-wrapped once.
 */
export function withResponseEdits(response: Response, edits: readonly ((headers: Headers) => void)[]): Response {
  if (edits.length === 0) return response;
  let target = response;
  try {
    for (const edit of edits) edit(target.headers);
    return target;
  } catch {
    target = new Response(response.body, response);
    for (const edit of edits) edit(target.headers);
    return target;
  }
}

/**
 * `response` whose finishers (limit-conn's release) run exactly once: when its body has been read
 * to the end or cancelled, or at once when it has no body.
 */
export function withFinishers(response: Response, finishers: readonly (() => void)[]): Response {
  if (finishers.length === 0) return response;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    for (const f of finishers) f();
  };
  const body = response.body;
  if (!body) {
    finish();
    return response;
  }
  const reader = body.getReader();
  const tracked = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          finish();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(tracked, response);
}
