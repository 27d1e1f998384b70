/** The registered routes by path pattern, to tell "no such path" (404) from "wrong method" (405 with `Allow`). */

export class RouteTable {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  /** Record a route (fastify `onRoute`): `url` may hold `:param` segments. */
  add(method: string | string[], url: string): void {
    let entry = this.routes.get(url);
    if (!entry) {
      const source = url
        .split('/')
        .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      entry = { pattern: new RegExp(`^${source}$`), methods: new Set() };
      this.routes.set(url, entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) {
      entry.methods.add(m);
      if (m === 'GET') entry.methods.add('HEAD');
    }
  }

  /** Methods allowed on `path` (no query string), sorted; empty when no route has that path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: ms } of this.routes.values()) if (pattern.test(path)) for (const m of ms) methods.add(m);
    return [...methods].sort();
  }
}
