/**
 * The leader-election Lease (ports/leases.ts) as plain JSON requests on the shared pool
 * (json-request.ts). Lease times must carry six fractional digits (MicroTime): they are
 * written as such strings and read back to Dates; a 404 on read is "no Lease yet", and a
 * 409 on create or replace reaches the caller as the conflict core/leader.ts expects.
 */
import type { V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { JsonRequester } from './json-request';
import { readOrUndefined } from './object-reads';
import { formatMicroTime, parseTime } from '../core/leader';
import type { LeasePort, LeaseRecord } from '../ports/leases';

/** The Lease `namespace/name` read and written through `api`. */
export function leaseRequests(api: JsonRequester, namespace: string, name: string): LeasePort {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  return {
    get: async () => {
      const lease = await readOrUndefined<V1Lease>(api, path);
      return lease ? fromLease(lease) : undefined;
    },
    create: async (record) => fromLease(await api.request<V1Lease>('POST', collection, toLease(namespace, name, record))),
    update: async (record) => fromLease(await api.request<V1Lease>('PUT', path, toLease(namespace, name, record))),
  };
}

/** The Lease object for `record`, times as MicroTime strings (JSON drops the undefined fields). */
export function toLease(namespace: string, name: string, record: LeaseRecord): V1Lease {
  // V1Lease types its times as client-node's MicroTime class; on the wire they are strings of six fractional digits.
  const micro = (date: Date | undefined) => (date ? (formatMicroTime(date) as unknown as V1MicroTime) : undefined);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, resourceVersion: record.resourceVersion },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: micro(record.acquireTime),
      renewTime: micro(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

export function fromLease(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity || undefined,
    leaseDurationSeconds: spec.leaseDurationSeconds,
    acquireTime: parseTime(spec.acquireTime),
    renewTime: parseTime(spec.renewTime),
    leaseTransitions: spec.leaseTransitions,
    resourceVersion: lease.metadata?.resourceVersion,
  };
}
