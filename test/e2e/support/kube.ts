/**
 * A small Kubernetes API client for e2e tests: JSON over HTTPS with the
 * credentials of a kubeconfig (the harness's admin client certificate or a
 * ServiceAccount token). Used instead of @kubernetes/client-node, which is
 * ESM-only and cannot be loaded by jest, and instead of one kubectl process per
 * call, which is slow on a busy machine when a test polls many objects.
 *
 * Errors carry the HTTP status (`KubeError.status`); `get` returns undefined for
 * a 404. Nothing retries by itself: tests wait for states with `waitFor`.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as yaml from 'js-yaml';

/** Any Kubernetes object, loosely typed: tests read fields they know. */
export type KubeObject = { apiVersion?: string; kind?: string; metadata?: any; spec?: any; status?: any; [key: string]: any };

export interface KubeList<T = KubeObject> {
  readonly items: T[];
  readonly metadata: { resourceVersion?: string; continue?: string };
}

/** A failed API call. */
export class KubeError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status; 0 when no response arrived (connection refused/reset). */
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path}: ${status === 0 ? body : `HTTP ${status}: ${apiMessage(body)}`}`);
    this.name = 'KubeError';
  }
}

function apiMessage(body: string): string {
  try {
    return JSON.parse(body).message ?? body.slice(0, 500);
  } catch {
    return body.slice(0, 500);
  }
}

/** Paths of the objects the suites use (namespace undefined = all namespaces, name undefined = the collection). */
export const paths = {
  namespace: (name?: string) => `/api/v1/namespaces${name ? `/${name}` : ''}`,
  pvc: (namespace?: string, name?: string) => namespaced('/api/v1', 'persistentvolumeclaims', namespace, name),
  pv: (name?: string) => `/api/v1/persistentvolumes${name ? `/${name}` : ''}`,
  pod: (namespace?: string, name?: string) => namespaced('/api/v1', 'pods', namespace, name),
  event: (namespace?: string, name?: string) => namespaced('/api/v1', 'events', namespace, name),
  node: (name?: string) => `/api/v1/nodes${name ? `/${name}` : ''}`,
  storageClass: (name?: string) => `/apis/storage.k8s.io/v1/storageclasses${name ? `/${name}` : ''}`,
  lease: (namespace?: string, name?: string) => namespaced('/apis/coordination.k8s.io/v1', 'leases', namespace, name),
};

function namespaced(prefix: string, resource: string, namespace?: string, name?: string): string {
  const ns = namespace ? `/namespaces/${namespace}` : '';
  return `${prefix}${ns}/${resource}${name ? `/${name}` : ''}`;
}

interface Credentials {
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
}

function readKubeconfig(file: string): Credentials {
  const config = yaml.load(fs.readFileSync(file, 'utf8')) as any;
  const contextName = config['current-context'];
  const context = (config.contexts ?? []).find((c: any) => c.name === contextName)?.context;
  if (!context) {
    throw new Error(`${file}: no current context`);
  }
  const cluster = (config.clusters ?? []).find((c: any) => c.name === context.cluster)?.cluster;
  const user = (config.users ?? []).find((u: any) => u.name === context.user)?.user ?? {};
  if (!cluster?.server) {
    throw new Error(`${file}: the current context has no cluster server`);
  }
  const data = (inline: string | undefined, fileRef: string | undefined) =>
    inline ? Buffer.from(inline, 'base64') : fileRef ? fs.readFileSync(fileRef) : undefined;
  return {
    server: cluster.server.replace(/\/$/, ''),
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: data(user['client-certificate-data'], user['client-certificate']),
    key: data(user['client-key-data'], user['client-key']),
    token: user.token,
  };
}

export interface RequestOptions {
  /** Content type of the body (default application/json). */
  readonly contentType?: string;
  /** Per-request timeout (default 30 s). */
  readonly timeoutMs?: number;
}

export class Kube {
  /** A client with the credentials of a kubeconfig file (e.g. `controlPlane.kubeconfig`). */
  public static fromKubeconfig(file: string): Kube {
    return new Kube(readKubeconfig(file));
  }

  private readonly agent: https.Agent;

  private constructor(private readonly creds: Credentials) {
    // No keep-alive: a kube-apiserver restart would leave dead pooled sockets behind.
    this.agent = new https.Agent({ ca: creds.ca, cert: creds.cert, key: creds.key, keepAlive: false });
  }

  public get server(): string {
    return this.creds.server;
  }

  /** One API call; resolves with the parsed JSON body (or undefined for an empty body). */
  public request<T = any>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.creds.server + path);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    if (this.creds.token) {
      headers.Authorization = `Bearer ${this.creds.token}`;
    }
    return new Promise<T>((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent, timeout: options.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new KubeError(method, path, 0, err.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new KubeError(method, path, status, text));
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            reject(new KubeError(method, path, status, `unparsable response: ${(err as Error).message}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (err) => reject(new KubeError(method, path, 0, err.message)));
      req.end(payload);
    });
  }

  /** The object, or undefined when it does not exist. */
  public async get<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) {
        return undefined;
      }
      throw err;
    }
  }

  /** All items of a collection (follows `continue` pages). */
  public async list<T = KubeObject>(path: string, query: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const params = new URLSearchParams({ limit: '500' });
      if (query.labelSelector) params.set('labelSelector', query.labelSelector);
      if (query.fieldSelector) params.set('fieldSelector', query.fieldSelector);
      if (token) params.set('continue', token);
      const page = await this.request<KubeList<T>>('GET', `${path}?${params}`);
      items.push(...page.items);
      token = page.metadata.continue || undefined;
    } while (token);
    return items;
  }

  public create<T = KubeObject>(collectionPath: string, obj: KubeObject): Promise<T> {
    return this.request<T>('POST', collectionPath, obj);
  }

  /** Creates the object; an existing one (409 AlreadyExists) counts as success. Safe to repeat after a lost response. */
  public async ensure<T = KubeObject>(collectionPath: string, obj: KubeObject): Promise<T | undefined> {
    try {
      return await this.create<T>(collectionPath, obj);
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) {
        return undefined;
      }
      throw err;
    }
  }

  /** Deletes the object; 'gone' when it did not exist. */
  public async delete(path: string, options: { uid?: string; gracePeriodSeconds?: number } = {}): Promise<'deleted' | 'gone'> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.uid) body.preconditions = { uid: options.uid };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    try {
      await this.request('DELETE', path, body);
      return 'deleted';
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) {
        return 'gone';
      }
      throw err;
    }
  }

  /** JSON merge patch (RFC 7386). */
  public patch<T = KubeObject>(path: string, patch: unknown, options: { subresource?: string } = {}): Promise<T> {
    const target = options.subresource ? `${path}/${options.subresource}` : path;
    return this.request<T>('PATCH', target, patch, { contentType: 'application/merge-patch+json' });
  }

  /** Events whose involved object has this name (and kind), oldest first. */
  public async eventsFor(namespace: string, name: string, kind?: string): Promise<KubeObject[]> {
    const selectors = [`involvedObject.name=${name}`];
    if (kind) selectors.push(`involvedObject.kind=${kind}`);
    const events = await this.list(paths.event(namespace), { fieldSelector: selectors.join(',') });
    return events.sort((a, b) => eventTime(a) - eventTime(b));
  }
}

function eventTime(e: KubeObject): number {
  return Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0) || 0;
}
