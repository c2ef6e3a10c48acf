/**
 * Disks for the local-volume e2e tests, made of loop devices on this machine (root only).
 *
 * Each stand-in node gets, per class, a "host" discovery directory and the "agent" view of
 * it: a recursive bind mount that is a slave of the host directory, which is what a
 * hostPath volume with `mountPropagation: HostToContainer` gives the agent's container. A
 * filesystem mounted on the host side after the agent started shows up in the agent's
 * view by propagation, as it does on a real node. PVs name the host path (`hostDir`); the
 * agent reads its own view (`mountDir`).
 *
 * `cleanup()` undoes everything even after a failure: every mount under the root (found in
 * the mount table, deepest first) and every loop device backed by one of its images.
 * Without loop devices the setup throws, so the tests fail instead of being skipped.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Mount points at or under `dir` in this process's mount table, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  const points = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

export type FsType = 'ext4' | 'xfs';

export class NodeDisks {
  public readonly root: string;
  private readonly images: string[] = [];

  constructor(prefix: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  /** The node's discovery directory of a class, as the host sees it (the class's hostDir on that node). */
  public hostDir(node: string, cls: string): string {
    return path.join(this.root, node, 'host', cls);
  }

  /** The same directory as the node's agent sees it (its mountDir). */
  public agentDir(node: string, cls: string): string {
    return path.join(this.root, node, 'agent', cls);
  }

  /** Creates both directories and the HostToContainer-style propagation between them. */
  public prepare(node: string, cls: string): void {
    const host = this.hostDir(node, cls);
    const agent = this.agentDir(node, cls);
    fs.mkdirSync(host, { recursive: true });
    fs.mkdirSync(agent, { recursive: true });
    // A mount point in a shared peer group, so that mounts below it propagate ...
    sh('mount', ['--bind', host, host]);
    sh('mount', ['--make-shared', host]);
    // ... into the agent's view, which receives them but sends none back.
    sh('mount', ['--rbind', host, agent]);
    sh('mount', ['--make-rslave', agent]);
  }

  /** A sparse image file of `mb` MiB. */
  public image(name: string, mb: number): string {
    const img = path.join(this.root, 'images', `${name}.img`);
    fs.mkdirSync(path.dirname(img), { recursive: true });
    fs.writeFileSync(img, '');
    fs.truncateSync(img, mb * 1024 * 1024);
    this.images.push(img);
    return img;
  }

  /**
   * A new filesystem mounted at host/<entry> with `mount -o loop` (the loop device is
   * released by the unmount). Returns the host path of the mount point.
   */
  public mountImage(node: string, cls: string, entry: string, fsType: FsType, mb: number): string {
    const img = this.image(`${node}-${cls}-${entry}`, mb);
    sh(`mkfs.${fsType}`, fsType === 'xfs' ? ['-q', '-f', img] : ['-q', '-F', img]);
    const dir = path.join(this.hostDir(node, cls), entry);
    fs.mkdirSync(dir, { recursive: true });
    sh('mount', ['-o', 'loop', img, dir]);
    return dir;
  }

  /** A loop block device over a new image; detached by cleanup(). */
  public attachLoop(name: string, mb: number): { img: string; dev: string } {
    const img = this.image(name, mb);
    return { img, dev: sh('losetup', ['--find', '--show', img]) };
  }

  /** host/<entry> as a symbolic link to a device (what an administrator does for a Block class). */
  public linkDevice(node: string, cls: string, entry: string, dev: string): string {
    const link = path.join(this.hostDir(node, cls), entry);
    fs.symlinkSync(dev, link);
    return link;
  }

  /** Mounts a device or image somewhere under the root (outside any discovery directory). */
  public mountElsewhere(source: string, name: string, options: string[] = []): string {
    const dir = path.join(this.root, 'elsewhere', name);
    fs.mkdirSync(dir, { recursive: true });
    sh('mount', [...options, source, dir]);
    return dir;
  }

  public umount(dir: string): void {
    sh('umount', [dir]);
  }

  /** Unmounts everything under the root, detaches its loop devices, removes it. */
  public cleanup(): void {
    const failures: string[] = [];
    for (const dir of mountsUnder(this.root)) {
      try {
        sh('umount', [dir]);
      } catch {
        try {
          sh('umount', ['-l', dir]);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }
    for (const img of this.images) {
      let devices: string[] = [];
      try {
        devices = sh('losetup', ['-j', img]).split('\n').filter(Boolean).map((l) => l.split(':')[0]);
      } catch (err) {
        failures.push((err as Error).message);
      }
      for (const dev of devices) {
        try {
          sh('losetup', ['-d', dev]);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }
    const left = mountsUnder(this.root);
    if (left.length > 0) failures.push(`still mounted: ${left.join(', ')}`);
    // Never rm -r through a mount that could not be undone.
    if (failures.length > 0) throw new Error(`cleanup of ${this.root} incomplete:\n${failures.join('\n')}`);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
