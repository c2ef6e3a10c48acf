/**
 * Real loop devices and mounts for the local agent's filesystem tests (needs root). Every
 * mount and loop device made here is undone by cleanup(), which tests call in afterAll;
 * if loop devices are unavailable the calls throw and the tests fail.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export class LoopLab {
  public readonly root: string;
  private readonly mounted: string[] = [];
  private readonly loops = new Set<string>();

  constructor(prefix: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  /** A sparse image file of `mb` MiB. */
  public image(name: string, mb = 8): string {
    const img = path.join(this.root, `${name}.img`);
    fs.writeFileSync(img, '');
    fs.truncateSync(img, mb * 1024 * 1024);
    return img;
  }

  /** Attaches an image to a free loop device (or to `device`); returns the device path. */
  public attach(img: string, device?: string): string {
    const dev = device ? (sh('losetup', [device, img]), device) : sh('losetup', ['--find', '--show', img]);
    this.loops.add(dev);
    return dev;
  }

  public detach(dev: string): void {
    sh('losetup', ['-d', dev]);
    this.loops.delete(dev);
  }

  /** A fresh ext4 image mounted (through its own loop device) at `dir`, created if needed. */
  public mountFs(dir: string, mb = 8): { img: string; dev: string } {
    const img = this.image(`fs-${path.basename(dir)}-${this.mounted.length}`, mb);
    sh('mkfs.ext4', ['-q', '-F', img]);
    const dev = this.attach(img);
    fs.mkdirSync(dir, { recursive: true });
    this.mount(dev, dir);
    return { img, dev };
  }

  public mount(source: string, dir: string, options: string[] = []): void {
    sh('mount', [...options, source, dir]);
    this.mounted.push(dir);
  }

  public bind(source: string, dir: string): void {
    this.mount(source, dir, ['--bind']);
  }

  public umount(dir: string): void {
    sh('umount', [dir]);
    const i = this.mounted.lastIndexOf(dir);
    if (i >= 0) this.mounted.splice(i, 1);
  }

  /** Undoes everything, innermost mounts first; keeps going past failures and reports them. */
  public cleanup(): void {
    const failures: string[] = [];
    for (const dir of [...this.mounted].reverse()) {
      try {
        sh('umount', [dir]);
      } catch {
        try {
          sh('umount', ['-l', dir]);
        } catch (err) {
          failures.push(`umount ${dir}: ${(err as Error).message}`);
        }
      }
    }
    this.mounted.length = 0;
    for (const dev of this.loops) {
      try {
        sh('losetup', ['-d', dev]);
      } catch (err) {
        failures.push(`losetup -d ${dev}: ${(err as Error).message}`);
      }
    }
    this.loops.clear();
    // Never rm -r through a mount that could not be undone.
    if (failures.length > 0) throw new Error(failures.join('\n'));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** True if the buffer contains the ASCII marker. */
export function contains(buf: Buffer, marker: string): boolean {
  return buf.indexOf(Buffer.from(marker)) >= 0;
}

/** Writes `marker` into a block device at `offset` (and syncs it). */
export function writeMarker(dev: string, marker: string, offset: number): void {
  const fd = fs.openSync(dev, 'r+');
  try {
    fs.writeSync(fd, Buffer.from(marker), 0, marker.length, offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readDevice(dev: string): Buffer {
  return fs.readFileSync(dev);
}
