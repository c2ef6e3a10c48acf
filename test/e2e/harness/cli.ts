/**
 * Starts or stops a long-lived e2e environment (control plane + NFS server + node) for
 * working by hand:
 *
 *   cli.ts up       start it in the background; the last line is KUBECONFIG=<path>
 *   cli.ts status   describe the running environment
 *   cli.ts down     stop everything `up` started and remove its state
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ControlPlane } from './controlPlane';
import { connect, E2E_STATE_ENV, Environment, ensurePackages, startEnvironment, stopEnvironment } from './environment';
import { NfsServer } from './nfsServer';
import { ProcessRecord } from './proc';

const STATE_DIR = process.env.E2E_UP_STATE_DIR ?? path.join(os.tmpdir(), 'cdk8s-storage-e2e-up');
const STATE_FILE = path.join(STATE_DIR, 'state.json');

function describe(env: Environment): string {
  const cp: ControlPlane = env.controlPlane;
  const nfs: NfsServer = env.nfs;
  return [
    `API server:      ${cp.server}`,
    `kubectl:         ${cp.kubectlPath}`,
    `control plane:   ${cp.dir} (logs in ${cp.logDir})`,
    `NFS server:      ${nfs.host}:${nfs.port} (mount port ${nfs.mountPort}), export ${nfs.exportPath} -> ${nfs.root}`,
    `NFS client URL:  ${nfs.url('')}`,
    `NFS logs:        ${nfs.logDir}`,
    `node:            ${env.node.name} (containerd + kubelet in ${env.node.dir}, logs in ${env.node.logDir}), image ${env.node.controllerImage}`,
    `state:           ${env.stateFile}   (${E2E_STATE_ENV}=${env.stateFile} lets e2e code connect())`,
    `KUBECONFIG=${cp.kubeconfig}`,
  ].join('\n');
}

async function up(): Promise<void> {
  if (fs.existsSync(STATE_FILE)) {
    const env = connect(STATE_FILE);
    const dead = [...env.controlPlane.deadComponents(), ...env.node.deadComponents()];
    if (dead.length === 0) {
      process.stderr.write('already up\n');
      process.stdout.write(`${describe(env)}\n`);
      return;
    }
    process.stderr.write(`a previous environment has stopped components (${dead.join(', ')}); replacing it\n`);
    await stopEnvironment(STATE_FILE, { keepLogs: false, quiet: true });
  }
  const started = Date.now();
  ensurePackages();
  const env = await startEnvironment({ stateDir: STATE_DIR, ownerPid: 0 });
  const records = [...Object.values(env.controlPlane.state().processes), ...Object.values(env.nfs.state().processes),
    ...Object.values(env.node.state().processes)]
    .filter((p): p is ProcessRecord => p !== undefined);
  fs.writeFileSync(path.join(STATE_DIR, 'pids'), records.map((p) => `${p.pid} ${p.name}\n`).join(''));
  process.stderr.write(`up in ${((Date.now() - started) / 1000).toFixed(1)}s; stop with: cli.ts down\n`);
  process.stdout.write(`${describe(env)}\n`);
}

async function down(): Promise<void> {
  if (!fs.existsSync(STATE_FILE)) {
    process.stderr.write('nothing to stop\n');
    fs.rmSync(STATE_DIR, { recursive: true, force: true });
    return;
  }
  const kept = await stopEnvironment(STATE_FILE, { quiet: true });
  for (const k of kept) {
    process.stderr.write(`logs kept in ${k}\n`);
  }
  process.stderr.write('down\n');
}

async function status(): Promise<void> {
  if (!fs.existsSync(STATE_FILE)) {
    process.stderr.write('not running\n');
    process.exitCode = 1;
    return;
  }
  const env = connect(STATE_FILE);
  const dead = [...env.controlPlane.deadComponents(), ...env.node.deadComponents()];
  process.stdout.write(`${describe(env)}\n`);
  if (dead.length > 0) {
    process.stderr.write(`stopped components: ${dead.join(', ')}\n`);
    process.exitCode = 1;
  }
}

async function main(argv: string[]): Promise<void> {
  switch (argv[0]) {
    case 'up': return up();
    case 'down': return down();
    case 'status': return status();
    default:
      process.stderr.write('usage: cli.ts up|down|status\n');
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
