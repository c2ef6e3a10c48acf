/**
 * List and watch of one resource over plain HTTP GETs, parsed to plain JSON.
 *
 * client-node's list calls turn every item into instances of its model classes (a Date per
 * timestamp, every property of the model set, most to undefined); at 5,000 PVs a page of
 * those takes twice the memory of the parsed JSON, and the informer caches hold every PV and
 * claim of the cluster. Decisions read the objects through client-node's type names only, and
 * the API's JSON has the same field names (the one renamed field, `metadata.continue` of a
 * list, is read here), so the parsed JSON serves them as it is; timestamps stay RFC 3339
 * strings, as client-node's own watch has always delivered them.
 *
 * Connections, TLS and credentials come from the caller ({@link ApiTarget}, api-target.ts).
 */
import * as http from 'http';
import * as https from 'https';
import { ApiError, type ApiTarget, parseOrText } from './api-target';
import { LineSplitter } from './json-lines';
import type { KubeObject, ListWatchPort, WatchEventType, WatchHandle } from '../ports/list-watch';

export interface HttpListWatchOptions<T> {
  /** Only objects with these labels (`key=value`, `key`). @default all */
  readonly labelSelector?: string;
  /** Items per list page. @default 500 */
  readonly pageSize?: number;
  /** Trims each listed or watched object to what decisions read. @default keep everything */
  readonly project?: (obj: T) => T;
  /** A list page that has not arrived after this long fails (a watch is guarded by the informer's watchdog). @default 60000 */
  readonly listTimeoutMs?: number;
}

interface ListPage<T> {
  items?: T[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

interface WatchLine<T> {
  type?: string;
  object?: T;
}

const keep = <T>(obj: T) => obj;

export function httpListWatch<T extends KubeObject>(target: ApiTarget, path: string, options: HttpListWatchOptions<T> = {}): ListWatchPort<T> {
  const project = options.project ?? keep;
  const pageSize = options.pageSize ?? 500;
  const listTimeoutMs = options.listTimeoutMs ?? 60_000;

  const url = (params: Record<string, string | undefined>) => {
    const u = new URL(target.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries({ labelSelector: options.labelSelector, ...params })) {
      if (value !== undefined && value !== '') u.searchParams.set(key, value);
    }
    return u;
  };

  return {
    list: async (onPage) => {
      const items: T[] = [];
      let resourceVersion = '';
      let token: string | undefined;
      do {
        const where = url({ limit: String(pageSize), continue: token });
        const page = await getJson<ListPage<T>>(target, where, listTimeoutMs);
        const projected = (page.items ?? []).map(project);
        if (onPage) onPage(projected);
        else for (const item of projected) items.push(item);
        resourceVersion = page.metadata?.resourceVersion ?? '';
        token = page.metadata?.continue || undefined;
      } while (token);
      return { items, resourceVersion };
    },

    watch: async (resourceVersion, timeoutSeconds, onEvent, onDone): Promise<WatchHandle> => {
      const where = url({ watch: 'true', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
      const req = await send(target, where);
      let over = false;
      // After abort() the caller has stopped listening: nothing more is reported.
      const finish = (error: unknown) => {
        if (over) return;
        over = true;
        // A stream that ended cleanly has handed its connection back to the pool: keep it.
        if (error) req.destroy();
        onDone(error);
      };
      req.on('error', finish);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          readBody(res).then(
            (body) => finish(new ApiError(res.statusCode ?? 0, parseOrText(body), `watch ${path}`)),
            finish);
          return;
        }
        const lines = new LineSplitter();
        const deliver = (line: string) => {
          const event = JSON.parse(line) as WatchLine<T>;
          if (!event.type || !event.object) throw new Error(`a watch event without type or object: ${line.slice(0, 200)}`);
          // A bookmark carries only a resourceVersion; an ERROR carries a Status: neither is a cached object.
          const obj = event.type === 'BOOKMARK' || event.type === 'ERROR' ? event.object : project(event.object);
          onEvent(event.type as WatchEventType, obj);
        };
        res.on('data', (chunk: Buffer) => {
          if (over) return;
          try {
            for (const line of lines.push(chunk)) {
              deliver(line);
              if (over) return;
            }
          } catch (error) {
            // A line that is not an event means the stream is broken: end it; the informer watches again.
            finish(error);
          }
        });
        res.on('end', () => {
          if (over) return;
          try {
            const rest = lines.end();
            if (rest) deliver(rest);
            finish(null);
          } catch (error) {
            finish(error);
          }
        });
        res.on('aborted', () => finish(new Error(`watch ${path}: the server closed the stream mid-response`)));
        res.on('error', finish);
      });
      req.end();
      return {
        abort: () => {
          over = true;
          req.destroy();
        },
      };
    },
  };
}

/** Starts a GET (not yet ended) with the target's agent and credentials. */
async function send(target: ApiTarget, where: URL): Promise<http.ClientRequest> {
  const { agent, headers, auth } = await target.requestOptions();
  const request = where.protocol === 'http:' ? http.request : https.request;
  const req = request(where, { method: 'GET', agent, auth, headers: { ...headers, accept: 'application/json' } });
  // Notice a peer that vanished (the kernel probes an idle connection), as client-node's watch did.
  req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
  return req;
}

async function getJson<R>(target: ApiTarget, where: URL, timeoutMs: number): Promise<R> {
  const req = await send(target, where);
  return new Promise<R>((resolve, reject) => {
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${where.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      readBody(res).then((body) => {
        if (res.statusCode !== 200) {
          reject(new ApiError(res.statusCode ?? 0, parseOrText(body), `GET ${where.pathname}`));
          return;
        }
        try {
          resolve(JSON.parse(body) as R);
        } catch (error) {
          reject(new Error(`GET ${where.pathname}: the answer is not JSON: ${(error as Error).message}`));
        }
      }, reject);
    });
    req.end();
  });
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('aborted', () => reject(new Error('the server closed the connection mid-response')));
    res.on('error', reject);
  });
}
