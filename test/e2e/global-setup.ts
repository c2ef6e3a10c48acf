import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { E2E_STATE_ENV, ensurePackages, reapStaleEnvironments, startEnvironment } from './harness';

/**
 * Jest global setup for the e2e suite: installs missing apt packages, builds
 * (or finds) the control-plane binaries and kubelet, and starts one control plane,
 * one NFS server and one real node for the whole run. Test files attach through the state file named
 * by $CDK8S_STORAGE_E2E_STATE (`connect()`).
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  ensurePackages();
  const reaped = await reapStaleEnvironments();
  for (const r of reaped) {
    process.stderr.write(`[e2e] stopped a stale environment left by an interrupted run: ${r}\n`);
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-e2e-run-'));
  const env = await startEnvironment({ stateDir, ownerPid: process.pid });
  process.env[E2E_STATE_ENV] = env.stateFile;
  process.stderr.write(
    `\n[e2e] control plane ${env.controlPlane.server}, NFS ${env.nfs.host}:${env.nfs.port}${env.nfs.exportPath} and node ` +
    `${env.node.name} (containerd with its images ${env.node.runtimeSeconds?.toFixed(1)}s, kubelet to Ready ${env.node.startSeconds?.toFixed(1)}s) ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
}
