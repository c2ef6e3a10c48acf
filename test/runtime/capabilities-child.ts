/**
 * Run by capabilities.test.ts in a child process whose capabilities are cut down to a
 * container's (bundled by esbuild, started under setpriv). It does what the controller does to
 * a tenant's files and prints the outcome as one JSON line; it never throws.
 *
 *   local-wipe <class map entry as JSON> <entry>   scan, publish and wipe one local volume
 *   nfs <root>                                     reuse, archive and delete volume directories
 */
import type { LocalClassConfig } from '../../src/contract/controller-config';
import { cleanVolume } from '../../src/runtime/local/cleanup';
import { MountTable } from '../../src/runtime/local/mountinfo';
import { buildLocalPv, readRecord } from '../../src/runtime/local/pv';
import { scanDirectory } from '../../src/runtime/local/scan';
import { NfsRootFs } from '../../src/runtime/nfs/fs';

async function localWipe(cls: LocalClassConfig, entry: string): Promise<unknown> {
  const scan = await scanDirectory(cls.mountDir, await MountTable.read());
  const scanned = scan.entries.find(e => e.name === entry);
  if (!scanned) return { ok: false, message: `${entry} not found` };
  const pv = buildLocalPv(cls, { name: 'node-a', hostname: 'host-a' }, scanned);
  return cleanVolume({ type: 'clean', pv, cls, entry, record: readRecord(pv)! }, { mounts: () => MountTable.read() });
}

/** Each operation on its own, so one refused does not hide the others: 'ok' or the error. */
async function nfsOperations(root: string): Promise<Record<string, string>> {
  const volumes = new NfsRootFs(root);
  const outcome = (op: Promise<unknown>) => op.then(() => 'ok', (error: Error) => error.message);
  return {
    reuse: await outcome(volumes.ensureDirectory('reused', 0o770)),
    archive: await outcome(volumes.archiveDirectory('archive-me', 'cap')),
    delete: await outcome(volumes.removeDirectory('delete-me')),
  };
}

async function main(): Promise<unknown> {
  const [job, ...args] = process.argv.slice(2);
  if (job === 'local-wipe') return localWipe(JSON.parse(args[0]), args[1]);
  if (job === 'nfs') return nfsOperations(args[0]);
  return { ok: false, message: `unknown job ${job}` };
}

main().then(
  result => process.stdout.write(`${JSON.stringify(result)}\n`),
  error => process.stdout.write(`${JSON.stringify({ ok: false, message: (error as Error).message })}\n`),
);
