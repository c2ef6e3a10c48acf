/**
 * Real loop devices and mounts for tests (root only), for the unit tests of the local agent
 * and the local e2e suite alike. Everything lives under one temporary root; `cleanup()`
 * undoes it even after a failed test: every mount at or under the root or made through the
 * lab (read from the mount table, so mounts a test made by hand or that propagated there
 * count too), newest first, lazily when busy; then every loop device backed by one of the
 * lab's images. It never removes the root through a mount it could not undo. Without loop
 * devices the calls throw, so tests fail instead of being skipped.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Runs a command; a failure names the command and what it wrote to stderr. */
export function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/**
 * Mount points at or under `dir` in this process's mount table, newest first (the mount
 * table lists mounts in the order they were made, so this is an order they can be undone in).
 */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  const points = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points.reverse())];
}

/** Mounts stacked on one point are undone one per pass; more passes than this means a mount that will not go. */
const MAX_UNMOUNT_PASSES = 16;

export class LoopLab {
  public readonly root: string;
  /** Mount points made through the lab (normally under the root, but not necessarily). */
  private readonly targets = new Set<string>();
  private readonly images: string[] = [];

  constructor(prefix: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  /** A sparse image file of `mb` MiB. */
  public image(name: string, mb = 8): string {
    const img = path.join(this.root, 'images', `${name}.img`);
    fs.mkdirSync(path.dirname(img), { recursive: true });
    fs.writeFileSync(img, '');
    fs.truncateSync(img, mb * 1024 * 1024);
    this.images.push(img);
    return img;
  }

  /** Attaches an image to a free loop device (or to `device`); returns the device path. */
  public attach(img: string, device?: string): string {
    return device ? (sh('losetup', [device, img]), device) : sh('losetup', ['--find', '--show', img]);
  }

  public detach(dev: string): void {
    sh('losetup', ['-d', dev]);
  }

  /** A fresh ext4 image mounted (through its own loop device) at `dir`, created if needed. */
  public mountFs(dir: string, mb = 8): { img: string; dev: string } {
    const img = this.image(`fs-${path.basename(dir)}-${this.images.length}`, mb);
    sh('mkfs.ext4', ['-q', '-F', img]);
    const dev = this.attach(img);
    fs.mkdirSync(dir, { recursive: true });
    this.mount(dev, dir);
    return { img, dev };
  }

  public mount(source: string, dir: string, options: string[] = []): void {
    sh('mount', [...options, source, dir]);
    this.targets.add(dir);
  }

  public bind(source: string, dir: string): void {
    this.mount(source, dir, ['--bind']);
  }

  public umount(dir: string): void {
    sh('umount', [dir]);
  }

  /** Undoes every mount and loop device of the lab, then removes the root; reports what it could not undo. */
  public cleanup(): void {
    const failures = [...this.unmountAll(), ...this.detachAll()];
    // Never rm -r through a mount that could not be undone.
    if (failures.length > 0) throw new Error(`cleanup of ${this.root} incomplete:\n${failures.join('\n')}`);
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private mountedNow(): string[] {
    const points = [this.root, ...this.targets].flatMap((dir) => mountsUnder(dir));
    return [...new Set(points)];
  }

  private unmountAll(): string[] {
    for (let pass = 0; pass < MAX_UNMOUNT_PASSES; pass++) {
      const points = this.mountedNow();
      if (points.length === 0) return [];
      for (const dir of points) {
        try {
          sh('umount', [dir]);
        } catch {
          try {
            sh('umount', ['-l', dir]);
          } catch {
            // Counted as still mounted below if it stays.
          }
        }
      }
    }
    const left = this.mountedNow();
    return left.length === 0 ? [] : [`still mounted: ${left.join(', ')}`];
  }

  /**
   * Detaches the loop devices backed by the lab's images, found by their backing file: a
   * device number a test detached by hand may belong to someone else by now.
   */
  private detachAll(): string[] {
    const failures: string[] = [];
    for (const img of this.images) {
      try {
        for (const line of sh('losetup', ['-j', img]).split('\n').filter(Boolean)) sh('losetup', ['-d', line.split(':')[0]]);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    return failures;
  }
}
