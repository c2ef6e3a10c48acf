import { ApiObject, ApiObjectMetadata } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NfsQuota } from './nfs-quota';
import { NfsInClusterServerOptions } from './nfs-server';
import { COMMANDS, ENV, NFS_PORT, NFS_SERVER_FLAGS, PATHS } from '../../contract/controller-config';
import { flagArg, NFS_SERVER_FLAG_SPECS } from '../../contract/flags';
import { K8S } from '../../contract/keys';
import { formatQuantity } from '../../contract/quantity';
import { sizeToBytes } from '../claim/size';
import { nameFromId } from '../common/default-name';
import { propError } from '../common/errors';
import { plainApiObject } from '../common/plain-api-object';
import { fieldEnv, podTemplate, Workload, workloadFlags } from '../common/workload';

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
/** Suffix of the server's names. */
const NAME_SUFFIX = '-server';
/** Characters of the construct id (as a DNS label) a server name keeps. */
export const SERVER_NAME_ID_CHARS = MAX_STATEFULSET_NAME - NAME_SUFFIX.length;

/**
 * The name of the server's Service and StatefulSet, `<construct id>-server`: from the id, never
 * the construct path, because both hold on to data. The Service's cluster IP is in every
 * volume (a renamed Service is a new IP) and the backing claim is named after the
 * StatefulSet (a renamed StatefulSet starts on an empty disk). A Service name starts with a
 * letter, and the StatefulSet name is at most 52 characters.
 */
export function inClusterServerName(scope: Construct, where: string): string {
  const id = nameFromId(scope, where, 'server');
  const base = /^[a-z]/.test(id) ? id : `nfs-${id}`;
  return `${base.slice(0, SERVER_NAME_ID_CHARS).replace(/-+$/, '')}${NAME_SUFFIX}`;
}

/** What the StatefulSet needs to know. */
export interface InClusterServerSettings {
  readonly server: NfsInClusterServerOptions;
  readonly provisionerName: string;
  readonly serviceAccountName: string;
  readonly serviceName: string;
  readonly leaseName: string;
  readonly namespace: string;
  readonly usageIntervalSeconds: number;
  /** The checked pod knobs of the NfsProvisioner. */
  readonly workload: Workload;
  readonly metadata: ApiObjectMetadata;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** The construct's own pod annotations (scrape annotations). */
  readonly annotations: Record<string, string>;
  /** The construct at which errors are reported. */
  readonly where: string;
}

/** The Service: port 2049/TCP only (NFSv4: no rpcbind, no mountd), a pinned IP if asked. */
export function inClusterService(scope: Construct, server: NfsInClusterServerOptions, name: string, metadata: ApiObjectMetadata,
  selector: Record<string, string>): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata: { ...metadata, name },
    spec: {
      type: 'ClusterIP',
      ...server.clusterIP !== undefined ? { clusterIp: server.clusterIP } : {},
      selector,
      ports: [{ name: NFS_PORT_NAME, port: NFS_PORT, targetPort: k8s.IntOrString.fromString(NFS_PORT_NAME), protocol: 'TCP' }],
    },
  });
}

/** The StatefulSet (one replica) and its PodDisruptionBudget; returns the StatefulSet. */
export function inClusterServer(scope: Construct, s: InClusterServerSettings): ApiObject {
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

  const statefulSet = plainApiObject(scope, 'StatefulSet', k8s.KubeStatefulSet.manifest({
    // The Service's name: the backing claim is named after it, so it is as stable.
    metadata: { ...s.metadata, name: s.serviceName },
    spec: {
      replicas: 1,
      serviceName: s.serviceName,
      selector: { matchLabels: s.selector },
      // The claim outlives the StatefulSet (the default retention): deleting the server never deletes the data.
      volumeClaimTemplates: claimTemplate ? [claimTemplate] : undefined,
      template: podTemplateOf(s),
    },
  }));

  new k8s.KubePodDisruptionBudget(scope, 'PodDisruptionBudget', {
    metadata: s.metadata,
    spec: {
      // One pod: 0 blocks every voluntary eviction (a drain waits until the server is moved
      // on purpose), 1 lets a drain take the server down for as long as its move takes.
      maxUnavailable: k8s.IntOrString.fromNumber(server.allowEviction ? 1 : 0),
      selector: { matchLabels: s.selector },
    },
  });
  return statefulSet;
}

function podTemplateOf(s: InClusterServerSettings): k8s.PodTemplateSpec {
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
    flagArg(NFS_SERVER_FLAG_SPECS, NFS_SERVER_FLAGS.usageInterval, s.usageIntervalSeconds),
    ...workloadFlags(NFS_SERVER_FLAG_SPECS, s.workload),
  ];
  return podTemplate({
    workload: pinnedToHostPathNode(s),
    labels: s.labels,
    annotations: s.annotations,
    serviceAccountName: s.serviceAccountName,
    // Clients reach the server through the Service only; no Service env vars.
    enableServiceLinks: false,
    podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [
      ...server.hostPath !== undefined
        ? [{ name: DATA_VOLUME, hostPath: { path: server.hostPath, type: 'DirectoryOrCreate' } }]
        : [],
      { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
    ],
    container: {
      name: CONTAINER_NAME,
      image: server.image!,
      args,
      env: [fieldEnv(ENV.podName, 'metadata.name'), fieldEnv(ENV.podNamespace, 'metadata.namespace')],
      ports: [{ name: NFS_PORT_NAME, containerPort: NFS_PORT, protocol: 'TCP' }],
      // /readyz answers only while ganesha answers an NFS NULL call on 127.0.0.1:2049, so the
      // Service sends clients to a pod that serves; /healthz restarts a hung command.
      livenessPeriodSeconds: 10,
      readinessPeriodSeconds: 5,
      startupSeconds: STARTUP_SECONDS,
      defaultResources: {
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
    },
  });
}

/** The pod knobs, with the node of a hostPath added to the node selector. */
function pinnedToHostPathNode(s: InClusterServerSettings): Workload {
  const node = s.server.hostPathNode;
  if (node === undefined) return s.workload;
  const chosen = s.workload.nodeSelector[K8S.hostnameLabel];
  if (chosen !== undefined && chosen !== node) {
    throw propError(s.where, `nodeSelector[${JSON.stringify(K8S.hostnameLabel)}]`, chosen, `is not the server's hostPathNode (${JSON.stringify(node)})`,
      'the server runs on the node holding its hostPath: leave this key out of nodeSelector');
  }
  return { ...s.workload, nodeSelector: { ...s.workload.nodeSelector, [K8S.hostnameLabel]: node } };
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
