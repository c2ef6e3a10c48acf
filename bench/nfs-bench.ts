/**
 * What the NFS benchmarks share: a control plane, one NfsProvisioner with one class
 * (onDelete DELETE) synthesized and applied, a local directory as its export, and the
 * controller started from the synthesized Deployment under its ServiceAccount, behind a
 * counting HTTPS proxy. Everything is removed at the end, or on Ctrl-C.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchControlPlane } from './control-plane';
import { RequestCounter } from './request-counter';
import { NfsProvisioner, NfsServer, OnDelete } from '../src/constructs/nfs';
import { PATHS } from '../src/contract/controller-config';
import { ControlPlane, waitFor } from '../test/e2e/harness';
import { applyManifests, ControllerProcess, Controllers, deleteManifests, Kube, paths, synth } from '../test/e2e/support';

/** Label on every object a benchmark creates (value: which subject). */
export const SUBJECT_LABEL = 'bench.cdk8s-storage.dev/subject';

export interface NfsBench {
  readonly cp: ControlPlane;
  readonly kube: Kube;
  readonly counter: RequestCounter;
  /** Namespace of the claims. */
  readonly ns: string;
  readonly cls: string;
  readonly provisionerName: string;
  /** The export (the controller's --root). */
  readonly root: string;
  readonly version: string;
  /** Starts the controller (extra flags appended; node flags and another bundle from `launch`); stopped at the end. */
  startController(extraArgs?: string[], launch?: Launch): Promise<ControllerProcess>;
}

/** How the controller process is started besides its own flags. */
export interface Launch {
  /** Flags for node before the bundle, e.g. `--cpu-prof --cpu-prof-dir=<dir>`. */
  readonly nodeArgs?: readonly string[];
  /** Another build of the bundle (a "before" build copied aside). */
  readonly bundle?: string;
}

export const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/** Lease renewals: periodic, not work for a volume. */
const isLease = (key: string) => key.endsWith(' leases');

/** Requests other than Lease renewals. */
export function work(requests: Map<string, number>): Map<string, number> {
  return new Map([...requests].filter(([k]) => !isLease(k)));
}

/** Waits until the counter has not moved, Lease renewals aside, for `quietMs`. */
export async function quiet(counter: RequestCounter, quietMs = 3_000): Promise<void> {
  let last = sum(work(counter.snapshot()));
  let since = Date.now();
  await waitFor('the controller to go quiet', async () => {
    const now = sum(work(counter.snapshot()));
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, { timeoutMs: 600_000, intervalMs: 200 });
}

/** `by verb: ...` and `by verb and resource: ...` lines of a request count, Lease renewals apart. */
export function describeRequests(all: Map<string, number>): string[] {
  const requests = work(all);
  const byVerb = new Map<string, number>();
  for (const [k, v] of requests) byVerb.set(k.split(' ')[0], (byVerb.get(k.split(' ')[0]) ?? 0) + v);
  return [
    `  by verb: ${[...byVerb].sort().map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  by verb and resource: ${[...requests].sort().map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  besides: ${sum(all) - sum(requests)} Lease requests (leader election renews on a timer, whatever the load)`,
  ];
}

/** Writes (anything but GET, LIST, WATCH) among the requests, Lease renewals aside. */
export function writes(all: Map<string, number>): number {
  return [...work(all)].filter(([k]) => !/^(GET|LIST|WATCH) /.test(k)).reduce((a, [, v]) => a + v, 0);
}

export async function runNfsBench(body: (bench: NfsBench) => Promise<void>): Promise<void> {
  const { cp, release } = await benchControlPlane();
  const kube = Kube.fromKubeconfig(cp.kubeconfig);
  const id = Math.random().toString(16).slice(2, 8);
  const ns = `bench-nfs-${id}`;
  const cls = `${ns}-files`;
  const provisionerName = `bench.cdk8s-storage.dev/${id}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nfs-'));
  fs.chmodSync(root, 0o755);
  const manifests = synth((scope) => {
    const provisioner = new NfsProvisioner(scope, 'nfs', {
      server: NfsServer.external({ host: '127.0.0.1', path: '/bench' }),
      namespace: `${ns}-system`,
      createNamespace: true,
      provisionerName,
    });
    provisioner.addStorageClass('files', { name: cls, onDelete: OnDelete.DELETE });
  });
  const controllers = new Controllers(() => cp);
  const counter = new RequestCounter(cp.server, fs.readFileSync(cp.caFile));
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('[bench] SIGINT: stopping the controller and the control plane\n');
    void controllers.stopAll().finally(() => release()).finally(() => process.exit(130));
  });
  try {
    await kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await applyManifests(cp, manifests);
    // TLS between the controller and the proxy, as between it and an API server.
    const proxy = await counter.start({ tls: true });
    const sa = manifests.one('Deployment').spec.template.spec.serviceAccountName;
    const kubeconfig = counter.rewriteKubeconfig(await cp.serviceAccountKubeconfig(`${ns}-system`, sa), proxy, `${root}.kubeconfig`);
    const version = JSON.parse((await cp.kubectl(['version', '-o', 'json'])).stdout).serverVersion.gitVersion;
    // One controller per launch: starting one again restarts it (a stopped one) with its flags.
    const launched = new Map<string, ControllerProcess>();
    await body({
      cp, kube, counter, ns, cls, provisionerName, root, version,
      startController: async (extraArgs = [], launch = {}) => {
        const key = JSON.stringify([launch.nodeArgs ?? [], launch.bundle ?? '']);
        const known = launched.get(key);
        if (known) return known.start();
        // A name of its own: a process's log file is named after it and its start count.
        const controller = await controllers.start(manifests, {
          name: launched.size === 0 ? 'bench-nfs' : `bench-nfs-${launched.size + 1}`, mounts: { [PATHS.nfsRoot]: root }, kubeconfig, extraArgs, nodeArgs: launch.nodeArgs, bundle: launch.bundle,
        });
        launched.set(key, controller);
        return controller;
      },
    });
  } finally {
    await controllers.stopAll().catch((err) => process.stderr.write(`${err}\n`));
    await counter.stop();
    await cp.kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
    await cp.kubectl(['delete', 'pv', '-l', SUBJECT_LABEL, '--wait=false'], { allowFailure: true, timeoutMs: 600_000 });
    await deleteManifests(cp, manifests);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(`${root}.kubeconfig`, { force: true });
    if (!interrupted) await release();
  }
}
