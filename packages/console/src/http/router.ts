import type { IncomingMessage, ServerResponse } from 'node:http';
import { methodNotAllowed, routeNotFound } from './api-error.js';
import type { RequestTarget } from './request-target.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST';

/** What a handler gets: the request, its response, the parsed target and the route's tail. */
export interface RouteContext {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly target: RequestTarget;
  /** For a prefix route, the raw (still encoded) rest of the path after the prefix. */
  readonly rest: string;
}

export type RouteHandler = (context: RouteContext) => Promise<void> | void;

interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  /** Matches `path` followed by anything (the rest goes to the handler). */
  readonly prefix: boolean;
  readonly handler: RouteHandler;
}

/**
 * A table of exact paths and prefixes, matched against the raw path. Small on purpose: the
 * console has a dozen endpoints, and every one of them should be visible in one list.
 */
export class Router {
  readonly #routes: Route[] = [];

  get(path: string, handler: RouteHandler): this {
    return this.#add('GET', path, false, handler);
  }

  post(path: string, handler: RouteHandler): this {
    return this.#add('POST', path, false, handler);
  }

  /** GET of `prefix` + anything, e.g. `/api/v1/tiered/segments/` + a segment path. */
  getPrefix(prefix: string, handler: RouteHandler): this {
    return this.#add('GET', prefix, true, handler);
  }

  /** The handler for this method and path; an unknown path is 404, a known one with another method 405. */
  resolve(method: string, rawPath: string): { handler: RouteHandler; rest: string } {
    const matching = this.#routes.filter((route) => (route.prefix ? rawPath.startsWith(route.path) && rawPath.length > route.path.length : rawPath === route.path));
    // An exact route beats a prefix one that also matches.
    matching.sort((a, b) => Number(a.prefix) - Number(b.prefix));
    const asked = method === 'HEAD' ? 'GET' : method;
    const route = matching.find((candidate) => candidate.method === asked);
    if (route) return { handler: route.handler, rest: route.prefix ? rawPath.slice(route.path.length) : '' };
    if (matching.length > 0) {
      const allowed = [...new Set(matching.flatMap((candidate) => (candidate.method === 'GET' ? ['GET', 'HEAD'] : [candidate.method])))];
      throw methodNotAllowed(method, rawPath, allowed);
    }
    throw routeNotFound(method, rawPath.length > 200 ? `${rawPath.slice(0, 200)}…` : rawPath);
  }

  #add(method: HttpMethod, path: string, prefix: boolean, handler: RouteHandler): this {
    this.#routes.push({ method, path, prefix, handler });
    return this;
  }
}
