/**
 * The in-cluster server's command on the real control plane, as its pod runs it: the
 * bundled `nfs-server` command in private network and mount namespaces (ServerLab), with
 * leader election, against the harness's API server. The namespace reaches the API server
 * through a relay over a unix socket (loopback on both sides: no other address is used),
 * and the Service's cluster IP, made by the API server, is an address inside it, so the NFS
 * client mounts exactly what the PV names. Shared by the nfs-server e2e files, one mode each.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';
import type { QuotaMode } from '../../../src/contract/values';
import { pidsInMountNamespace, ServerLab } from '../../runtime/nfs-server/server-lab';
import { ensureControllerBundle, eventually, Kube, paths } from '../support';

export interface ServerCommandOptions {
  /** The harness's control plane: its admin kubeconfig and API server URL. */
  readonly cp: { readonly kubeconfig: string; readonly server: string };
  readonly kube: Kube;
  readonly provisioner: string;
  readonly namespace: string;
  readonly className: string;
  readonly quota: QuotaMode;
  /** The container's capabilities (all others dropped, no_new_privs); every capability when absent (privileged). */
  readonly capabilities?: readonly string[];
}

/** Pipes every connection accepted by `server` to a new connection made by `dial` (the namespace side below does the same). */
function relayTo(server: net.Server, dial: () => net.Socket): net.Server {
  return server.on('connection', (c) => {
    const u = dial();
    for (const [a, b] of [[c, u], [u, c]]) {
      a.pipe(b);
      a.on('error', () => b.destroy());
    }
  });
}

export class ServerCommand {
  private static readonly SERVICE = 'nfs-server';
  readonly lab = new ServerLab();
  clusterIP = '';
  command?: ChildProcess;
  commandNs?: string;
  private hostRelay?: net.Server;
  private netRelay?: ChildProcess;

  constructor(private readonly o: ServerCommandOptions) {}

  /** The command's output so far (last 30 lines). */
  log(): string {
    const file = path.join(this.lab.root, 'command.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '';
  }

  /** Namespace, Service (its cluster IP added in the lab), StorageClass (onDelete DELETE), then the command; resolves once it works. */
  async start(): Promise<void> {
    const { cp, kube, namespace } = this.o;
    const bundle = ensureControllerBundle();
    const lab = this.lab;
    lab.start();
    const apiPort = Number(new URL(cp.server).port);
    const socket = path.join(lab.root, 'api.sock');
    // Host side: the unix socket leads to the API server on the host's loopback.
    this.hostRelay = relayTo(net.createServer(), () => net.connect(apiPort, '127.0.0.1'));
    await new Promise<void>((resolve) => this.hostRelay!.listen(socket, resolve));
    // Namespace side: the API server's loopback address and port lead to the unix socket, so the admin kubeconfig works as it is.
    this.netRelay = spawn('nsenter', [`--net=${lab.netNs}`, '--', process.execPath, '-e', `
      const net = require('net');
      net.createServer((c) => {
        const u = net.connect(${JSON.stringify(socket)});
        for (const [a, b] of [[c, u], [u, c]]) { a.pipe(b); a.on('error', () => b.destroy()); }
      }).listen(${apiPort}, '127.0.0.1');`], { stdio: 'ignore' });

    await kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    const service = await kube.ensure(`/api/v1/namespaces/${namespace}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: ServerCommand.SERVICE },
      spec: { type: 'ClusterIP', ports: [{ name: 'nfs', port: 2049, protocol: 'TCP' }], selector: { app: ServerCommand.SERVICE } },
    }) ?? await kube.get(`/api/v1/namespaces/${namespace}/services/${ServerCommand.SERVICE}`);
    this.clusterIP = (service as any).spec.clusterIP;
    // The Service's address is the server's, inside its network namespace (kube-proxy's job in a cluster).
    lab.inNet('ip', ['addr', 'add', `${this.clusterIP}/32`, 'dev', 'lo']);
    await kube.ensure(paths.storageClass(), {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: this.o.className },
      provisioner: this.o.provisioner,
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
      volumeBindingMode: 'Immediate',
      parameters: { onDelete: 'DELETE' },
    });

    const limit = this.o.capabilities
      ? ['setpriv', `--bounding-set=-all${this.o.capabilities.map((c) => `,+${c.toLowerCase()}`).join('')}`, '--inh-caps=-all', '--no-new-privs', '--']
      : [];
    const out = fs.openSync(path.join(lab.root, 'command.log'), 'a');
    const command = spawn('nsenter', [`--net=${lab.netNs}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', ...limit, process.execPath, bundle, 'nfs-server',
      `--${NFS_SERVER_FLAGS.provisionerName}=${this.o.provisioner}`,
      `--${NFS_SERVER_FLAGS.serviceName}=${ServerCommand.SERVICE}`,
      `--${NFS_SERVER_FLAGS.dataDir}=${lab.dataDir}`,
      `--${NFS_SERVER_FLAGS.ganeshaConfigDir}=${lab.configDir}`,
      `--${NFS_SERVER_FLAGS.quota}=${this.o.quota}`,
      `--${NFS_SERVER_FLAGS.httpPort}=8080`,
      `--${NFS_SERVER_FLAGS.usageInterval}=1`,
      `--kubeconfig=${cp.kubeconfig}`], { stdio: ['ignore', out, out], env: { ...process.env, POD_NAMESPACE: namespace, POD_NAME: 'nfs-server-0' } });
    this.command = command;
    const own = fs.readlinkSync('/proc/self/ns/mnt');
    let ns = own;
    while (ns === own && command.exitCode === null) {
      await new Promise((r) => setTimeout(r, 10));
      ns = fs.readlinkSync(`/proc/${command.pid}/ns/mnt`);
    }
    this.commandNs = ns;
    await eventually('the command leads and has synced its caches', async () => this.log().includes('caches synced; working'), {
      describe: () => this.log(),
    });
  }

  /** SIGTERM to the command, kill -9 of anything left in its mount namespace, relays closed, the lab removed. */
  async stop(): Promise<void> {
    const { kube, namespace } = this.o;
    await kube.delete(paths.storageClass(this.o.className)).catch(() => undefined);
    await kube.delete(paths.namespace(namespace)).catch(() => undefined);
    const command = this.command;
    if (command && command.exitCode === null) {
      const exited = new Promise((resolve) => command.once('exit', resolve));
      command.kill('SIGTERM');
      await exited;
    }
    // Anything left in the command's mount namespace (ganesha, the bus) goes too.
    for (const pid of this.commandNs ? pidsInMountNamespace(this.commandNs) : []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone meanwhile */ }
    }
    this.netRelay?.kill('SIGKILL');
    this.hostRelay?.close();
    await this.lab.cleanup();
  }
}
