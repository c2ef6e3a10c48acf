/**
 * What the plain-JSON requests (json-request.ts: writes; http-list-watch.ts: list and watch)
 * share: how to reach the API server with the client configuration's credentials, and the
 * error a refused request becomes.
 *
 * Connections, TLS and credentials come from the configuration (`applyToHTTPSOptions`: the
 * one keep-alive agent of shared-agent.ts with the cluster's CA and the user's client
 * certificate, and the bearer token or basic auth), asked for on every request so tokens
 * that rotate (projected service account tokens, exec plugins) are read fresh; these
 * requests travel exactly as client-node's own do. No client-node import here: the
 * configuration is taken by its shape.
 */
import type * as http from 'http';
import type * as https from 'https';

/** How to reach the API server. */
export interface ApiTarget {
  /** The server's base URL (`https://host:port`, maybe with a path prefix). */
  readonly server: string;
  /** The agent, headers and basic auth of one request. */
  requestOptions(): Promise<{ agent?: http.Agent; headers?: http.OutgoingHttpHeaders; auth?: string }>;
}

/** The part of client-node's KubeConfig a request needs. */
export interface RequestAuth {
  /** Sets headers (Authorization), `auth` (basic) and `agent` on the options. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
  /** The API server's URL. */
  getCurrentCluster(): { readonly server: string } | null;
}

/** The API server and credentials of a client configuration. */
export function apiTarget(config: RequestAuth): ApiTarget {
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error('the client configuration has no current cluster server: set current-context');
  return {
    server,
    requestOptions: async () => {
      const options: https.RequestOptions = {};
      await config.applyToHTTPSOptions(options);
      // client-node sets an agent object and a headers record; the other shapes the type allows never occur.
      const agent = typeof options.agent === 'object' ? options.agent : undefined;
      const headers = Array.isArray(options.headers) ? undefined : options.headers as http.OutgoingHttpHeaders | undefined;
      return { agent, headers, auth: options.auth ?? undefined };
    },
  };
}

/** A refused request: `code` is the HTTP status and `body` the API's Status (what ../core/errors.ts reads). */
export class ApiError extends Error {
  constructor(readonly code: number, readonly body: unknown, what: string) {
    const message = (body as { message?: unknown } | undefined)?.message;
    super(`${what}: HTTP ${code}${typeof message === 'string' ? `: ${message}` : ''}`);
    this.name = 'ApiError';
  }
}

/** An answer's body as JSON, or its text as the message of one (a proxy's HTML page, say). */
export function parseOrText(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return { message: body.slice(0, 500) };
  }
}
