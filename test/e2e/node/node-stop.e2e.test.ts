/**
 * Stopping a node leaves nothing behind: a second node (its own containerd and kubelet,
 * joined to the shared control plane) runs a pod, and after `stop()` none of its
 * processes, shims, shim sockets, mounts (kubelet's root bind mount, volumes, snapshots,
 * network namespaces), /var/log/containers links or its directory remain. This is what
 * `e2e:down` and the end of the suite do to the shared node.
 */
import * as fs from 'fs';
import * as path from 'path';
import { connect, ControlPlane, ensureKubelet, ensureNodeImages, onTestNode, TestNode, waitFor } from '../harness';
import { uniqueName } from '../support';

const name = uniqueName('stop-check');
let cp: ControlPlane;

beforeAll(() => {
  cp = connect().controlPlane;
});

afterAll(async () => {
  await cp?.kubectl(['delete', 'pod', 'sleeper', '-n', 'default', '--force', '--grace-period=0', '--ignore-not-found'], { allowFailure: true });
  await cp?.kubectl(['delete', 'node', name, '--ignore-not-found'], { allowFailure: true });
});

function mountsUnder(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(`${dir}/`));
}

function logLinksInto(dir: string): string[] {
  return fs.readdirSync('/var/log/containers').filter((e) => fs.readlinkSync(path.join('/var/log/containers', e)).startsWith(`${dir}/`));
}

function processesMentioning(dir: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  }).map(Number);
}

test('stop() removes every process, shim socket, mount and log link of a node that ran a pod, and its directory', async () => {
  const [pauseArchive, controllerArchive] = ensureNodeImages();
  const node = await TestNode.startRuntime({ name, pauseArchive, controllerArchive });
  let stopped = false;
  try {
    const kubeletKubeconfig = await cp.nodeKubeconfig(name);
    await node.joinCluster({ kubeletBinDir: ensureKubelet(), kubeletKubeconfig, kubeconfig: cp.kubeconfig, kubectlPath: cp.kubectlPath });
    await cp.applyYaml(onTestNode({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sleeper', namespace: 'default' },
      spec: {
        nodeName: name,
        automountServiceAccountToken: false,
        containers: [{ name: 'sleeper', image: node.controllerImage, command: ['node', '-e', 'setInterval(() => undefined, 1000)'] }],
      },
    }, { image: node.controllerImage }));
    await cp.waitForObject(['pod', 'sleeper', '-n', 'default'], (p) => p?.status?.phase === 'Running');
    // What stop() has to remove is there.
    const sockets = node.shimSockets();
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.every((s) => fs.existsSync(s))).toBe(true);
    expect(mountsUnder(node.dir).length).toBeGreaterThan(0);
    await waitFor('the container log link', async () => logLinksInto(node.dir).length > 0);

    stopped = true;
    await node.stop({ keepLogs: false, quiet: true });
    expect(processesMentioning(node.dir)).toEqual([]);
    expect(sockets.filter((s) => fs.existsSync(s))).toEqual([]);
    expect(mountsUnder(node.dir)).toEqual([]);
    expect(logLinksInto(node.dir)).toEqual([]);
    expect(fs.existsSync(node.dir)).toBe(false);
  } finally {
    if (!stopped) await node.stop({ keepLogs: true });
  }
});
