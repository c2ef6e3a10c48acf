/**
 * The control plane a benchmark runs against: the one of `npm run e2e:up` when it is
 * running (left running), else one of its own (stopped by `release`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { connect, ControlPlane, E2E_STATE_ENV, ensureBinaries } from '../test/e2e/harness';

const UP_STATE = path.join(process.env.E2E_UP_STATE_DIR ?? path.join(os.tmpdir(), 'cdk8s-storage-e2e-up'), 'state.json');

export async function benchControlPlane(): Promise<{ cp: ControlPlane; release: () => Promise<void> }> {
  const attachTo = process.env[E2E_STATE_ENV] ?? (fs.existsSync(UP_STATE) ? UP_STATE : undefined);
  if (attachTo) {
    process.stderr.write(`[bench] using the running e2e environment (${attachTo})\n`);
    return { cp: connect(attachTo).controlPlane, release: async () => undefined };
  }
  process.stderr.write('[bench] starting a control plane\n');
  const cp = await ControlPlane.start({ binDir: ensureBinaries() });
  return { cp, release: async () => { await cp.stop({ keepLogs: false }); } };
}
