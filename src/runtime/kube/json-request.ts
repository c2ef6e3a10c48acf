/**
 * Writes as plain JSON: one HTTPS request on the shared connection pool, the body
 * `JSON.stringify`d and the answer `JSON.parse`d, nothing else.
 *
 * client-node's generated API walks every body through its ObjectSerializer twice per call
 * (the request against the model's attribute map, then the response into model classes with
 * Date conversions) and goes through a middleware chain and node-fetch on the way; for the
 * controller's writes (create and delete a PV, merge patches, Events) that was a large share
 * of its CPU per claim in a burst (bench/README.md). The bodies here are already plain JSON
 * objects and callers read only a few fields of the answers, so nothing is lost.
 *
 * Authentication and TLS come from the client configuration (api-target.ts), so these
 * requests are the same as client-node's on the wire.
 */
import * as http from 'http';
import * as https from 'https';
import { ApiError, type ApiTarget, parseOrText } from './api-target';

export const CONTENT_TYPES = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
} as const;

export type ContentType = typeof CONTENT_TYPES[keyof typeof CONTENT_TYPES];

/** Sends JSON requests to the API server of `auth`'s current cluster. */
export class JsonRequester {
  private readonly base: URL;

  constructor(private readonly target: ApiTarget) {
    this.base = new URL(target.server);
  }

  /**
   * `method path` with `body` as JSON (`contentType`), resolving to the parsed answer
   * (undefined for an empty one); a status outside 2xx rejects with {@link ApiError}.
   */
  async request<T = unknown>(method: string, path: string, body?: unknown, contentType: ContentType = CONTENT_TYPES.json): Promise<T> {
    const { agent, headers: configured, auth } = await this.target.requestOptions();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(joinPath(this.base.pathname, path), this.base);
    const headers: http.OutgoingHttpHeaders = { ...configured, Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const send = url.protocol === 'http:' ? http.request : https.request;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { agent, auth, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new ApiError(status, parseOrText(text), `${method} ${path}`));
            return;
          }
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch (error) {
            reject(new Error(`${method} ${path}: the answer is not JSON: ${(error as Error).message}`));
          }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** The API path under the server URL's own path (a server behind a path prefix keeps it). */
function joinPath(prefix: string, path: string): string {
  return `${prefix.replace(/\/+$/, '')}${path}`;
}
