/**
 * The in-cluster NFS server's StatefulSet, synthesized by NfsProvisioner with
 * `NfsServer.inCluster`, made to run on the test node, and what the tests read from inside
 * its pod (the container's mount table, files under its root).
 *
 * `nfsServerOnTestNode` applies the stand-ins the node needs, each named here and in the
 * header of the test that uses it:
 * - `onTestNode`: the locally loaded server image with imagePullPolicy Never, a toleration
 *   of the node's taint, the host network with KUBERNETES_SERVICE_HOST=127.0.0.1 and the API
 *   port (pods here have only `lo`; the API server listens on loopback), the HTTP probes
 *   aimed at 127.0.0.1;
 * - the HTTP port moved off 8080 to a free one, because the host network is shared;
 * - the NFS port moved off 2049 to a free one (`--nfs-port`, and the container port the
 *   Service targets by name): in the host network, 2049 is usually taken by the suite's own
 *   nfs-ganesha (or another suite's on the same machine).
 * Everything else (args, env, security context, volumes, probes, the hostPath backing
 * storage, the node selector hostPathNode writes) is applied as synthesized.
 */
import * as fs from 'fs';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';
import { onTestNode } from '../harness';
import { KubeObject } from '../support';

export interface ServerPodOptions {
  /** The server image as the node knows it. */
  readonly image: string;
  /** The API server's port on 127.0.0.1. */
  readonly apiPort: number;
  /** A free port on this machine for --http-port (probes and /metrics). */
  readonly httpPort: number;
  /** A free port on this machine for --nfs-port (ganesha). */
  readonly nfsPort: number;
}

/** The synthesized StatefulSet with the stand-ins named in the header. */
export function nfsServerOnTestNode(statefulSet: KubeObject, options: ServerPodOptions): KubeObject {
  const s = onTestNode(statefulSet, { image: options.image, apiPort: options.apiPort });
  const [c, ...others] = s.spec.template.spec.containers;
  if (!c || others.length > 0) {
    throw new Error(`the server StatefulSet should have one container: ${JSON.stringify(s.spec.template.spec.containers)}`);
  }
  const httpFlag = `--${NFS_SERVER_FLAGS.httpPort}=`;
  if (!c.args.some((a: string) => a.startsWith(httpFlag))) {
    throw new Error(`the server container has no ${httpFlag} arg: ${JSON.stringify(c.args)}`);
  }
  c.args = [
    ...c.args.map((a: string) => (a.startsWith(httpFlag) ? `${httpFlag}${options.httpPort}` : a)),
    `--${NFS_SERVER_FLAGS.nfsPort}=${options.nfsPort}`,
  ];
  const port = (name: string) => {
    const p = (c.ports ?? []).find((x: KubeObject) => x.name === name);
    if (!p) throw new Error(`the server container has no port named ${name}: ${JSON.stringify(c.ports)}`);
    return p;
  };
  port('http').containerPort = options.httpPort;
  port('nfs').containerPort = options.nfsPort;
  return s;
}

/** One line of a process's /proc/<pid>/mountinfo: where, what filesystem, from which device. */
export interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
}

/** The mount table of the process `pid` as it sees it (its mount namespace, its root). */
export function mountsOf(pid: number): MountEntry[] {
  return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter((l) => l.trim() !== '').map((line) => {
    const [before, after] = line.split(' - ');
    const unescape = (p: string) => p.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8)));
    const [fsType, source] = after.split(' ');
    return { mountPoint: unescape(before.split(' ')[4]), fsType, source: unescape(source) };
  });
}

/** A path inside the process's root, seen from the host (through /proc/<pid>/root, which enters its mounts). */
export function insideRoot(pid: number, p: string): string {
  return `/proc/${pid}/root${p}`;
}
