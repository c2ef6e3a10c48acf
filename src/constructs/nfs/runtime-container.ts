import { k8s } from 'cdk8s-plus-28';
import { DEFAULT_HTTP_PORT, ENV } from '../../contract/controller-config';

/**
 * What every container running a provisioning command (`nfs`, `nfs-server`) has: the pod's
 * name and namespace from the downward API, the HTTP port of its ops server and probes on
 * `/healthz` and `/readyz`.
 */

/** Name of the HTTP port (health, readiness, metrics). */
export const HTTP_PORT_NAME = 'http';

/** POD_NAME and POD_NAMESPACE, from the downward API (the Lease holder, the Lease and Service namespace). */
export function downwardEnv(): k8s.EnvVar[] {
  return [
    { name: ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  ];
}

/** The container port of the ops server. */
export function httpPort(): k8s.ContainerPort {
  return { name: HTTP_PORT_NAME, containerPort: DEFAULT_HTTP_PORT, protocol: 'TCP' };
}

/** An HTTP GET probe on the ops server. */
function probe(path: string, periodSeconds: number, failureThreshold: number): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromString(HTTP_PORT_NAME) },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold,
  };
}

/** Liveness on `/healthz` (restarts a hung process), readiness on `/readyz`. */
export function opsProbes(): Pick<k8s.Container, 'livenessProbe' | 'readinessProbe'> {
  return {
    livenessProbe: { ...probe('/healthz', 10, 3), initialDelaySeconds: 10 },
    readinessProbe: probe('/readyz', 5, 3),
  };
}

/**
 * A startup probe on `/healthz` that allows `seconds` to start, during which liveness is not
 * checked (the NFS server mounts every volume before it serves).
 */
export function startupProbe(seconds: number): k8s.Probe {
  return probe('/healthz', 5, Math.ceil(seconds / 5));
}
