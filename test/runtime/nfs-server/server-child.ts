/**
 * The server side of the server-lab tests, as its pod runs it: the supervisor (bus, recovery,
 * ganesha) and the volume manager, in the mount namespace the lab gives it. Requests come as
 * JSON lines on stdin ({ id, op, ... }), answers and events go as JSON lines on stdout.
 * `crashAfter` makes the process SIGKILL itself right after a named program succeeded
 * (mkfs.xfs, mount, umount, losetup, ...), a kill -9 at that point of an operation.
 *
 * Usage: node server-child.js <data-dir> <config-dir> <port> [--preallocate] [--quota=<mode>]
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import type { QuotaMode } from '../../../src/contract/values';
import { CommandRunner, runCommand } from '../../../src/runtime/core/command';
import { volumeBackend } from '../../../src/runtime/nfs-server/backends';
import { ServerLayout } from '../../../src/runtime/nfs-server/layout';
import { ServerSupervisor } from '../../../src/runtime/nfs-server/supervisor';
import { VolumeManager } from '../../../src/runtime/nfs-server/volume-manager';

const [dataDir, configDir, port, ...flags] = process.argv.slice(2);
let crashAfter: string | undefined;
const run: CommandRunner = async (file, args) => {
  const out = await runCommand(file, args);
  if (file === crashAfter) process.kill(process.pid, 'SIGKILL');
  return out;
};
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const layout = new ServerLayout(dataDir);
const quota = (flags.find((f) => f.startsWith('--quota='))?.slice('--quota='.length) ?? 'loop-image') as QuotaMode;
const backend = volumeBackend(quota, { layout, run, preallocate: flags.includes('--preallocate') });
const volumes = new VolumeManager({ layout, backend, report: (message, fields) => say({ event: 'report', message, ...fields }) });
const supervisor = new ServerSupervisor({
  layout, configDir, volumes, run, port: Number(port), graceSeconds: 10, leaseSeconds: 5, log: (message, fields) => process.stderr.write(`${message} ${JSON.stringify(fields ?? {})}\n`),
});

void supervisor.exited.then((exit) => {
  say({ event: 'exited', ...exit });
  process.exit(1);
});

void supervisor.start().then((steps) => {
  say({ event: 'ready', ganeshaPid: supervisor.ganeshaPid, steps });
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const request = JSON.parse(line);
    crashAfter = request.crashAfter;
    const work = (): Promise<unknown> => {
      switch (request.op) {
        case 'create': return volumes.create(request.pv, { requestBytes: request.requestBytes, onDelete: request.onDelete ?? 'DELETE', uid: 0, gid: 0, mode: 0o777 });
        case 'grow': return volumes.grow(request.pv, request.requestBytes);
        case 'remove': return volumes.remove(request.pv);
        case 'usage': return volumes.usage(request.pv);
        case 'get': return volumes.get(request.pv);
        case 'pid': return Promise.resolve(process.pid);
        case 'pids': return Promise.resolve({ ganeshaPid: supervisor.ganeshaPid });
        // Fills a volume through its served directory (this namespace's mount), so a test writes only the last MiBs through NFS.
        case 'fill': return fill(path.join(backend.servedPath(request.pv), request.name), request.bytes);
        default: return Promise.reject(new Error(`unknown op ${request.op}`));
      }
    };
    work().then(
      (result) => say({ id: request.id, ok: true, result }),
      (error: Error) => say({ id: request.id, ok: false, error: error.message }),
    );
  });
}, (error: Error) => {
  say({ event: 'failed', error: error.message });
  process.exit(1);
});

async function fill(file: string, bytes: number): Promise<number> {
  const handle = await fsp.open(file, 'wx');
  const block = Buffer.alloc(1024 * 1024, 0xa5);
  try {
    for (let done = 0; done < bytes; done += block.length) await handle.write(block, 0, Math.min(block.length, bytes - done));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}
