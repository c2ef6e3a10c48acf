/**
 * The mount table as this process sees it (`/proc/self/mountinfo`). The agent's container
 * sees the host's mounts under each discovery directory through HostToContainer mount
 * propagation, so this is the authority on "is this entry a mount point" and "is this block
 * device mounted here".
 */
import { promises as fs } from 'fs';
import * as path from 'path';

/** One line of mountinfo (proc(5)). */
export interface MountEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** `major:minor` of the device backing the mount (`st_dev` of files on it). */
  readonly devno: string;
  /** Path inside the mounted filesystem that is the root of this mount (a bind mount's source). */
  readonly root: string;
  /** Where it is mounted, in this process's mount namespace. */
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  /** The filesystem's own options (`rw,prjquota,...`): what the superblock was mounted with. */
  readonly superOptions: string;
}

export const SELF_MOUNTINFO = '/proc/self/mountinfo';

/** Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses the text of a mountinfo file; malformed lines are skipped (the kernel never writes them). */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    // 6 fixed fields, optional fields, then '-' and 3 more.
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || dash + 2 >= fields.length) continue;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      devno: fields[2],
      root: unescapeMountField(fields[3]),
      mountPoint: unescapeMountField(fields[4]),
      fsType: unescapeMountField(fields[dash + 1]),
      source: unescapeMountField(fields[dash + 2]),
      superOptions: unescapeMountField(fields[dash + 3] ?? ''),
    });
  }
  return entries;
}

/** The parsed table with the two questions the agent asks of it. */
export class MountTable {
  /** Reads and parses a mountinfo file (default: this process's). */
  public static async read(file: string = SELF_MOUNTINFO): Promise<MountTable> {
    return new MountTable(parseMountInfo(await fs.readFile(file, 'utf8')));
  }

  /** Reads a mountinfo file; the table and the text it was parsed from. */
  public static async readWithText(file: string = SELF_MOUNTINFO): Promise<{ table: MountTable; text: string }> {
    const text = await fs.readFile(file, 'utf8');
    return { table: new MountTable(parseMountInfo(text)), text };
  }

  private readonly points: ReadonlySet<string>;
  private readonly devnos: ReadonlyMap<string, string[]>;

  constructor(public readonly entries: readonly MountEntry[]) {
    this.points = new Set(entries.map(e => e.mountPoint));
    const byDev = new Map<string, string[]>();
    for (const e of entries) byDev.set(e.devno, [...byDev.get(e.devno) ?? [], e.mountPoint]);
    this.devnos = byDev;
  }

  /** True if something is mounted exactly at `p` (an absolute path; normalised here). */
  public isMountPoint(p: string): boolean {
    return this.points.has(path.resolve(p));
  }

  /**
   * The mount visible at exactly `p`, if any. Mounts stacked on one point are all listed;
   * the visible one is the one no other mount at that point was mounted on top of.
   */
  public mountAt(p: string): MountEntry | undefined {
    const at = this.entries.filter(e => e.mountPoint === path.resolve(p));
    return at.filter(e => !at.some(other => other.parentId === e.mountId)).pop() ?? at.pop();
  }

  /** Where the device `major:minor` is mounted (empty if nowhere in this namespace). */
  public mountsOf(devno: string): string[] {
    return this.devnos.get(devno) ?? [];
  }

  /**
   * The visible mount that holds the absolute path `p`: the one at the longest mount point
   * that is `p` or one of its parents (`p` is taken as given: resolve links first).
   */
  public mountContaining(p: string): MountEntry | undefined {
    for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
      const found = this.mountAt(dir);
      if (found || dir === '/') return found;
    }
  }

  /** Mount points strictly below `dir`. */
  public mountsBelow(dir: string): string[] {
    const prefix = path.resolve(dir) + '/';
    return [...this.points].filter(p => p.startsWith(prefix));
  }
}
