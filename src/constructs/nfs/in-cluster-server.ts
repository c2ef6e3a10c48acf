import { ApiObjectMetadata, Names } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NfsQuota } from './nfs-quota';
import { NfsInClusterServerOptions } from './nfs-server';
import { downwardEnv, httpPort, opsProbes, startupProbe } from './runtime-container';
import { COMMANDS, DEFAULT_HTTP_PORT, NFS_PORT, NFS_SERVER_FLAGS, PATHS } from '../../contract/controller-config';
import { flagArg, NFS_SERVER_FLAG_SPECS } from '../../contract/flags';
import { K8S } from '../../contract/keys';
import { formatQuantity } from '../../contract/quantity';
import { sizeToBytes } from '../claim/size';

/**
 * The in-cluster NFS server's workload: the Service whose cluster IP the volumes name, the
 * one-pod StatefulSet running the `nfs-server` command (which supervises the bus and
 * nfs-ganesha and provisions the volumes), and its PodDisruptionBudget.
 */

/** Container name of the server. */
const CONTAINER_NAME = 'nfs-server';
/** Name of the NFS port (container and Service). */
const NFS_PORT_NAME = 'nfs';
/** The backing storage volume (a claim template or a hostPath). */
const DATA_VOLUME = 'data';
/** How long the server may take to start: it mounts every volume before ganesha serves. */
const STARTUP_SECONDS = 300;
/**
 * Longest StatefulSet name: its pods carry the label `controller-revision-hash: <name>-<hash>`,
 * which must fit in a 63-character label value.
 */
const MAX_STATEFULSET_NAME = 52;

/** What the StatefulSet needs to know. */
export interface InClusterServerSettings {
  readonly server: NfsInClusterServerOptions;
  readonly provisionerName: string;
  readonly serviceAccountName: string;
  readonly serviceName: string;
  readonly leaseName: string;
  readonly namespace: string;
  readonly usageIntervalSeconds: number;
  readonly metadata: ApiObjectMetadata;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
}

/** The Service: port 2049/TCP only (NFSv4: no rpcbind, no mountd), a pinned IP if asked. */
export function inClusterService(scope: Construct, server: NfsInClusterServerOptions, metadata: ApiObjectMetadata,
  selector: Record<string, string>): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata,
    spec: {
      type: 'ClusterIP',
      ...server.clusterIP !== undefined ? { clusterIp: server.clusterIP } : {},
      selector,
      ports: [{ name: NFS_PORT_NAME, port: NFS_PORT, targetPort: k8s.IntOrString.fromString(NFS_PORT_NAME), protocol: 'TCP' }],
    },
  });
}

/** The StatefulSet (one replica) and its PodDisruptionBudget. */
export function inClusterServer(scope: Construct, s: InClusterServerSettings): void {
  const server = s.server;
  const claimTemplate: k8s.KubePersistentVolumeClaimProps | undefined = server.hostPath === undefined ? {
    metadata: { name: DATA_VOLUME },
    spec: {
      // One server pod: it alone mounts the backing storage.
      accessModes: ['ReadWriteOnce'],
      ...server.storageClass !== undefined ? { storageClassName: server.storageClass } : {},
      resources: { requests: { storage: k8s.Quantity.fromString(formatQuantity(sizeToBytes('NfsServer.inCluster', 'backingSize', server.backingSize!))) } },
    },
  } : undefined;

  new k8s.KubeStatefulSet(scope, 'StatefulSet', {
    metadata: { ...s.metadata, name: Names.toDnsLabel(scope, { maxLen: MAX_STATEFULSET_NAME, extra: ['server'] }) },
    spec: {
      replicas: 1,
      serviceName: s.serviceName,
      selector: { matchLabels: s.selector },
      // The claim outlives the StatefulSet (the default retention): deleting the server never deletes the data.
      volumeClaimTemplates: claimTemplate ? [claimTemplate] : undefined,
      template: {
        metadata: { labels: s.labels },
        spec: podSpec(s),
      },
    },
  });

  new k8s.KubePodDisruptionBudget(scope, 'PodDisruptionBudget', {
    metadata: s.metadata,
    spec: {
      // One pod: 0 blocks every voluntary eviction (a drain waits until the server is moved
      // on purpose), 1 lets a drain take the server down for as long as its move takes.
      maxUnavailable: k8s.IntOrString.fromNumber(server.allowEviction ? 1 : 0),
      selector: { matchLabels: s.selector },
    },
  });
}

function podSpec(s: InClusterServerSettings): k8s.PodSpec {
  const server = s.server;
  const args = [
    COMMANDS.nfsServer,
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.provisionerName, s.provisionerName),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.serviceName, s.serviceName),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.dataDir, PATHS.nfsServerData),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.quota, server.quota!),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.preallocate, String(server.preallocate!)),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.ganeshaConfigDir, PATHS.ganeshaConfigDir),
    // One pod, but a Lease still keeps a replaced pod from provisioning next to a stuck one
    // (a node that lost contact, a force-deleted pod).
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.leaderElect, 'true'),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.leaseName, s.leaseName),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.leaseNamespace, s.namespace),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.httpPort, DEFAULT_HTTP_PORT),
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.usageInterval, s.usageIntervalSeconds),
  ];
  return {
    serviceAccountName: s.serviceAccountName,
    // The command talks to the API server: it needs its token (cdk8s-plus turns it off).
    automountServiceAccountToken: true,
    // Clients reach the server through the Service only; no host network, no Service env vars.
    hostNetwork: false,
    enableServiceLinks: false,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    ...server.hostPathNode !== undefined ? { nodeSelector: { [K8S.hostnameLabel]: server.hostPathNode } } : {},
    containers: [{
      name: CONTAINER_NAME,
      image: server.image!,
      args,
      env: downwardEnv(),
      ports: [{ name: NFS_PORT_NAME, containerPort: NFS_PORT, protocol: 'TCP' }, httpPort()],
      // /readyz answers only while ganesha answers an NFS NULL call on 127.0.0.1:2049, so the
      // Service sends clients to a pod that serves; /healthz restarts a hung command.
      ...opsProbes(),
      startupProbe: startupProbe(STARTUP_SECONDS),
      resources: {
        requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('256Mi') },
        // No CPU limit: throttling an NFS server slows every client. Memory: ganesha's
        // metadata cache plus the command; an out-of-memory kill stops every volume, so the
        // cap is generous.
        limits: { memory: k8s.Quantity.fromString('1Gi') },
      },
      securityContext: containerSecurity(server.quota!),
      volumeMounts: [
        { name: DATA_VOLUME, mountPath: PATHS.nfsServerData },
        // The command's bus socket and ganesha's configuration and pid file (/run/cdk8s-storage),
        // rewritten at every start, and ganesha's own run directory (/run/ganesha): an emptyDir.
        { name: 'run', mountPath: '/run' },
        // ganesha tests its lock support with a scratch file in /tmp.
        { name: 'tmp', mountPath: '/tmp' },
      ],
    }],
    volumes: [
      ...server.hostPath !== undefined
        ? [{ name: DATA_VOLUME, hostPath: { path: server.hostPath, type: 'DirectoryOrCreate' } }]
        : [],
      { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
    ],
  };
}

/**
 * The container's privileges, as tight as its quota mode allows (docs/server.md).
 *
 * Loop images need loop devices, and a container runtime lets only privileged containers
 * open /dev/loop-control and /dev/loop*: the device cgroup of an unprivileged container
 * refuses them even with CAP_SYS_ADMIN and /dev mounted from the host. So LOOP_IMAGE runs
 * privileged (which also covers mount, xfs_growfs, chattr +i and the rest below). Its loop
 * mounts stay in the container's own mount namespace (no mount propagation), and the
 * devices are attached with autoclear, so they go away with the container.
 *
 * The other modes mount nothing and run with only what ganesha, the bus and the command
 * use, every other capability dropped:
 * - CHOWN, FOWNER, FSETID, DAC_OVERRIDE: ganesha creates, chowns and chmods files for their
 *   owners, and the command makes, cleans and archives volume directories of any owner;
 * - DAC_READ_SEARCH: ganesha's VFS backend opens files by handle (open_by_handle_at);
 * - SETUID, SETGID: ganesha takes each request's user and groups for its file operations;
 * - SYS_ADMIN (XFS_PROJECT only): setting a project's limits (quotactl) needs it.
 * The bus and ganesha run as root like the command, so stopping them needs no KILL; port
 * 2049 is above 1023, so no NET_BIND_SERVICE.
 */
function containerSecurity(quota: string): k8s.SecurityContext {
  const common = {
    runAsUser: 0,
    runAsGroup: 0,
    runAsNonRoot: false,
    readOnlyRootFilesystem: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (quota === NfsQuota.LOOP_IMAGE) {
    // The API refuses privileged without privilege escalation.
    return { ...common, privileged: true, allowPrivilegeEscalation: true };
  }
  const add = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'SETGID', 'SETUID'];
  if (quota === NfsQuota.XFS_PROJECT) add.push('SYS_ADMIN');
  return { ...common, privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add } };
}
