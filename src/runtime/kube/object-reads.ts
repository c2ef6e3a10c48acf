/**
 * The single-object reads the runtime makes (a Service's cluster IP, a Node, a PV, the node
 * names), as plain GETs parsed to plain JSON on the shared pool (json-request.ts). They once
 * went through client-node's generated API classes, whose loading alone cost most of the
 * bundle and of an idle controller's memory; a 404 is "not there", anything else an error.
 */
import type { V1Node, V1PersistentVolume, V1Service } from '@kubernetes/client-node';
import type { JsonRequester } from './json-request';
import { isNotFound } from '../core/errors';

/** The object at `path`, or undefined when the API server answers 404. */
export async function readOrUndefined<T>(api: JsonRequester, path: string): Promise<T | undefined> {
  try {
    return await api.request<T>('GET', path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The Service's cluster IP; undefined for a missing Service or a headless one (`None`). */
export async function serviceClusterIP(api: JsonRequester, namespace: string, name: string): Promise<string | undefined> {
  const service = await readOrUndefined<V1Service>(api, `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`);
  const ip = service?.spec?.clusterIP;
  return ip && ip !== 'None' ? ip : undefined;
}

export function readNode(api: JsonRequester, name: string): Promise<V1Node | undefined> {
  return readOrUndefined<V1Node>(api, `/api/v1/nodes/${encodeURIComponent(name)}`);
}

export function readPv(api: JsonRequester, name: string): Promise<V1PersistentVolume | undefined> {
  return readOrUndefined<V1PersistentVolume>(api, `/api/v1/persistentvolumes/${encodeURIComponent(name)}`);
}

/**
 * A page of Nodes as the API server sends it: the token is `continue` on the wire (client-node's
 * V1ListMeta calls it `_continue`, a name only its serializer knew).
 */
interface NodePage {
  readonly items?: readonly V1Node[];
  readonly metadata?: { readonly continue?: string };
}

/** Every Node's name, `pageSize` Nodes per request (a large cluster's list is not one answer). */
export async function listNodeNames(api: JsonRequester, pageSize: number): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (token) query.set('continue', token);
    const page = await api.request<NodePage>('GET', `/api/v1/nodes?${query.toString()}`);
    names.push(...(page?.items ?? []).map((n) => n.metadata?.name ?? '').filter((n) => n !== ''));
    token = page?.metadata?.continue || undefined;
  } while (token);
  return names;
}
