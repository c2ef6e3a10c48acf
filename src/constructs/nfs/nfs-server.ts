import * as net from 'net';
import { Size } from 'cdk8s';
import { NfsQuota } from './nfs-quota';
import { isDnsSubdomain } from '../../contract/names';
import { sizeToBytes } from '../claim/size';
import { normalizeAbsolutePath } from '../common/absolute-path';
import { propError, quote } from '../common/errors';
import { defaultNfsServerImage, imageReferenceProblem } from '../common/image';

/**
 * An NFS export that already exists (a NAS, a Linux server, a cloud file service).
 */
export interface NfsExternalServerOptions {
  /**
   * Host name or IP address of the NFS server. Written into every volume, so the nodes
   * (not the pods) must resolve and reach it: cluster-internal DNS names usually do not work.
   */
  readonly host: string;

  /**
   * The exported path on the server (absolute, e.g. `/exports/k8s`). Every volume is a
   * directory below it.
   */
  readonly path: string;
}

/**
 * An NFS server run by the provisioner itself, inside the cluster (`NfsServer.inCluster`).
 *
 * The backing storage is a claim (the default: `storageClass`, `backingSize`) or a
 * directory on a node (`hostPath`), never both.
 */
export interface NfsInClusterServerOptions {
  /**
   * How each volume's size is enforced.
   *
   * @default NfsQuota.LOOP_IMAGE
   */
  readonly quota?: NfsQuota;

  /**
   * Allocate every loop image's blocks when it is made and grown, so the volumes can never
   * together promise more than the backing storage holds. Off, images are sparse: they take
   * only what is written, and the backing storage can be over-committed (a full backing disk
   * then fails writes in every volume, whatever their sizes). Loop images only.
   *
   * @default false
   */
  readonly preallocate?: boolean;

  /**
   * StorageClass of the claim that holds the server's data (every volume, its export and
   * the NFSv4 recovery state). A class with `allowVolumeExpansion` lets the backing claim
   * grow later. Not with `hostPath`.
   *
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;

  /**
   * Size of the backing claim. With `preallocate`, the volumes together cannot exceed it.
   * The StatefulSet's claim template cannot change once applied: grow the claim itself
   * (`kubectl edit pvc`) where its class allows it. Not with `hostPath`.
   *
   * @default Size.gibibytes(10)
   */
  readonly backingSize?: Size;

  /**
   * A directory on the node to keep the data in instead of a claim, for single-node labs.
   * The data stays on that node: pin the server there with `hostPathNode` on a cluster with
   * more than one node, or a rescheduled server starts empty on another node.
   *
   * @default - a claim (see `storageClass`)
   */
  readonly hostPath?: string;

  /**
   * The node (its `kubernetes.io/hostname` label) the server runs on, with `hostPath`.
   *
   * @default - any node (single-node clusters)
   */
  readonly hostPathNode?: string;

  /**
   * The Service's cluster IP, pinned. Every volume names the server by this IP (kubelets
   * do not use cluster DNS), so it must never change while volumes exist. Unpinned, the API
   * server picks one when the Service is created and the server writes it into each new
   * volume; if that Service is ever deleted and created again it gets another IP and the
   * existing volumes point at nothing: then pin `clusterIP` to the old IP (the volumes'
   * `spec.nfs.server`) and apply again. Must be in the cluster's service CIDR and free.
   *
   * @default - assigned by the API server when the Service is created
   */
  readonly clusterIP?: string;

  /**
   * The server image (nfs-ganesha, dbus, the filesystem tools and the controller):
   * `scripts/build-image.sh --server` builds it.
   *
   * @default - `ghcr.io/cdk8s-storage/nfs-server:<version of this package>`
   */
  readonly image?: string;

  /**
   * Let a node drain evict the server. The server is one pod, so an eviction pauses every
   * volume's I/O until it runs again (clients with `hard` mounts wait, then reclaim their
   * state); with a claim that cannot attach to another node at once, that can take minutes.
   * Off, the PodDisruptionBudget allows no eviction: `kubectl drain` waits until someone
   * moves the server on purpose (docs/server.md).
   *
   * @default false
   */
  readonly allowEviction?: boolean;
}

/**
 * Where an `NfsProvisioner` creates its volumes.
 */
export class NfsServer {
  /**
   * Subdirectory mode: one directory per volume on an existing export.
   */
  public static external(options: NfsExternalServerOptions): NfsServer {
    return new NfsServer(checkHost(options.host), checkPath(EXTERNAL, 'path', options.path), undefined);
  }

  /**
   * An NFS server in the cluster: a one-pod StatefulSet running nfs-ganesha and the
   * provisioner, one export per volume, sizes enforced (`quota`) and grown online, behind a
   * Service whose cluster IP the volumes name.
   */
  public static inCluster(options: NfsInClusterServerOptions = {}): NfsServer {
    return new NfsServer(undefined, undefined, checkInCluster(options ?? {}));
  }

  /** Host name or IP address of the server (external servers only). */
  public readonly host?: string;

  /** Exported path on the server, normalised: no trailing `/` (external servers only). */
  public readonly path?: string;

  /** The in-cluster server's options, with their defaults filled in (in-cluster servers only). */
  public readonly inClusterOptions?: NfsInClusterServerOptions;

  private constructor(host: string | undefined, exportPath: string | undefined, inClusterOptions: NfsInClusterServerOptions | undefined) {
    this.host = host;
    this.path = exportPath;
    this.inClusterOptions = inClusterOptions;
  }
}

const EXTERNAL = 'NfsServer.external';
const IN_CLUSTER = 'NfsServer.inCluster';
/** Default size of the in-cluster server's backing claim. */
const DEFAULT_BACKING_SIZE = Size.gibibytes(10);

function checkInCluster(options: NfsInClusterServerOptions): NfsInClusterServerOptions {
  const quota = options.quota ?? NfsQuota.LOOP_IMAGE;
  if (!Object.values(NfsQuota).includes(quota)) {
    throw propError(IN_CLUSTER, 'quota', quota, 'is not an NfsQuota value', 'use NfsQuota.LOOP_IMAGE, NfsQuota.XFS_PROJECT or NfsQuota.NONE');
  }
  const preallocate = options.preallocate ?? false;
  if (typeof preallocate !== 'boolean') {
    throw propError(IN_CLUSTER, 'preallocate', preallocate, 'is not a boolean', 'use true or false');
  }
  if (preallocate && quota !== NfsQuota.LOOP_IMAGE) {
    throw propError(IN_CLUSTER, 'preallocate', preallocate, `has nothing to allocate with quota ${quota}`,
      'only loop images are preallocated: use quota NfsQuota.LOOP_IMAGE or leave preallocate unset');
  }

  if (options.hostPath !== undefined) {
    for (const prop of ['storageClass', 'backingSize'] as const) {
      if (options[prop] !== undefined) {
        const value = prop === 'backingSize' ? options.backingSize!.asString() : options.storageClass;
        throw propError(IN_CLUSTER, prop, value, 'is set together with hostPath',
          'the data lives either in a claim (storageClass, backingSize) or in a node directory (hostPath): set one of the two');
      }
    }
  } else if (options.hostPathNode !== undefined) {
    throw propError(IN_CLUSTER, 'hostPathNode', options.hostPathNode, 'is set without hostPath', 'set hostPath too, or leave hostPathNode unset for a claim');
  }
  const hostPath = options.hostPath === undefined ? undefined : checkPath(IN_CLUSTER, 'hostPath', options.hostPath);
  if (hostPath === '/') {
    throw propError(IN_CLUSTER, 'hostPath', hostPath, 'is the node\'s root directory', 'give a directory of its own, e.g. "/var/lib/cdk8s-storage/nfs"');
  }
  if (options.hostPathNode !== undefined && !isLabelValue(options.hostPathNode)) {
    throw propError(IN_CLUSTER, 'hostPathNode', options.hostPathNode, 'is not a node\'s hostname label value',
      'give the node\'s kubernetes.io/hostname label (1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)');
  }
  if (options.storageClass !== undefined && !isDnsSubdomain(options.storageClass)) {
    throw propError(IN_CLUSTER, 'storageClass', options.storageClass, 'is not a valid StorageClass name',
      'use lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit (at most 253 characters)');
  }
  const backingSize = hostPath === undefined ? options.backingSize ?? DEFAULT_BACKING_SIZE : undefined;
  if (backingSize !== undefined && sizeToBytes(IN_CLUSTER, 'backingSize', backingSize) <= 0n) {
    throw propError(IN_CLUSTER, 'backingSize', backingSize.asString(), 'is zero', 'give the size of the backing claim, e.g. Size.gibibytes(100)');
  }
  if (options.clusterIP !== undefined) checkClusterIP(options.clusterIP);

  const image = options.image ?? defaultNfsServerImage();
  const imageProblem = imageReferenceProblem(image);
  if (imageProblem) {
    throw propError(IN_CLUSTER, 'image', image, `is not an image reference: it ${imageProblem}`,
      'give [registry[:port]/]path[:tag][@sha256:digest], e.g. \'ghcr.io/cdk8s-storage/nfs-server:1.2.3\'');
  }
  const allowEviction = options.allowEviction ?? false;
  if (typeof allowEviction !== 'boolean') {
    throw propError(IN_CLUSTER, 'allowEviction', allowEviction, 'is not a boolean', 'use true or false');
  }

  return Object.freeze({
    quota,
    preallocate,
    ...options.storageClass !== undefined ? { storageClass: options.storageClass } : {},
    ...backingSize !== undefined ? { backingSize } : {},
    ...hostPath !== undefined ? { hostPath } : {},
    ...options.hostPathNode !== undefined ? { hostPathNode: options.hostPathNode } : {},
    ...options.clusterIP !== undefined ? { clusterIP: options.clusterIP } : {},
    image,
    allowEviction,
  });
}

function checkClusterIP(ip: string): void {
  if (ip === 'None') {
    throw propError(IN_CLUSTER, 'clusterIP', ip, 'makes a headless Service, which has no IP for the volumes to name',
      'give a free IP of the cluster\'s service CIDR, e.g. "10.96.0.50", or leave clusterIP unset');
  }
  const family = net.isIP(ip);
  if (family === 0) {
    throw propError(IN_CLUSTER, 'clusterIP', ip, 'is not an IP address', 'give a free IP of the cluster\'s service CIDR, e.g. "10.96.0.50" or "fd00:10:96::50"');
  }
  const unusable = family === 4
    ? /^(0\.|127\.|169\.254\.|22[4-9]\.|2[3-5][0-9]\.)/.test(ip)
    : /^(::1?$|fe[89ab][0-9a-f]:|ff)/i.test(ip);
  if (unusable) {
    throw propError(IN_CLUSTER, 'clusterIP', ip, 'is an unspecified, loopback, link-local or multicast address, which is never a Service IP',
      'give a free IP of the cluster\'s service CIDR, e.g. "10.96.0.50"');
  }
}

/** A Kubernetes label value (what a kubernetes.io/hostname label holds), not empty. */
function isLabelValue(value: string): boolean {
  return typeof value === 'string' && /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(value);
}

function checkHost(host: string): string {
  if (typeof host !== 'string' || host.length === 0) {
    throw propError(EXTERNAL, 'host', host, 'is empty', 'give the NFS server\'s host name or IP address, e.g. "10.0.0.5" or "nas.example.com"');
  }
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;
  const isHost = (h: string) => net.isIPv4(h) || hostname.test(h);
  // "10.0.0.5:2049" would otherwise pass as an IPv6 address (hex digits, dots and colons).
  const withPort = /^(.*):([0-9]+)$/.exec(host);
  if (withPort && (isHost(withPort[1]) || /^\[.*\]$/.test(withPort[1]))) {
    throw propError(EXTERNAL, 'host', host, 'includes a port',
      `ports are not part of host: give only the server, e.g. ${quote(withPort[1])} (NFS v4 uses port 2049; for a server on another port, `
      + `add the mount option "port=${withPort[2]}" to the class's mountOptions)`);
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!(net.isIPv6(bare) || (bare === host && isHost(host)))) {
    throw propError(EXTERNAL, 'host', host, 'is not a host name or IP address',
      'give only the server, e.g. "10.0.0.5", "fd00::5" or "nas.example.com" (no scheme, port or path)');
  }
  return host;
}

/** An absolute, normalised path without a trailing `/` (the external export, the in-cluster hostPath). */
function checkPath(where: string, prop: string, value: string): string {
  return normalizeAbsolutePath(where, prop, value, where === EXTERNAL ? '/exports/k8s' : '/var/lib/cdk8s-storage/nfs');
}
