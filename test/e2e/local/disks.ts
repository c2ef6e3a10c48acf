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
 * The mounts, loop devices and their cleanup are the shared LoopLab's (test/util/loop-lab.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { LoopLab, sh } from '../../util/loop-lab';

export { mountsUnder, sh } from '../../util/loop-lab';

export type FsType = 'ext4' | 'xfs';

export class NodeDisks extends LoopLab {
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
    this.bind(host, host);
    sh('mount', ['--make-shared', host]);
    // ... into the agent's view, which receives them but sends none back.
    this.mount(host, agent, ['--rbind']);
    sh('mount', ['--make-rslave', agent]);
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
    this.mount(img, dir, ['-o', 'loop']);
    return dir;
  }

  /** A loop block device over a new image; detached by cleanup(). */
  public attachLoop(name: string, mb: number): { img: string; dev: string } {
    const img = this.image(name, mb);
    return { img, dev: this.attach(img) };
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
    this.mount(source, dir, options);
    return dir;
  }
}
