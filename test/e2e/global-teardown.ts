import * as fs from 'fs';
import * as path from 'path';
import { E2E_STATE_ENV, FAILURE_MARKER, stopEnvironment } from './harness';

/**
 * Jest global teardown: stops the control plane and the NFS server. Their logs
 * are kept (and their directories printed) when a test failed or KEEP_E2E_LOGS=1.
 */
export default async function globalTeardown(): Promise<void> {
  const stateFile = process.env[E2E_STATE_ENV];
  if (!stateFile || !fs.existsSync(stateFile)) {
    return;
  }
  const failed = fs.existsSync(path.join(path.dirname(stateFile), FAILURE_MARKER));
  const kept = await stopEnvironment(stateFile, { keepLogs: failed || process.env.KEEP_E2E_LOGS === '1', quiet: true });
  if (kept.length > 0) {
    process.stderr.write(`\n[e2e] logs kept${failed ? ' (a test failed)' : ''}:\n${kept.map((k) => `  ${k}`).join('\n')}\n`);
  }
  delete process.env[E2E_STATE_ENV];
}
