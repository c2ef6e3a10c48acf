/**
 * Block device facts from sysfs: identity (so a wipe can prove it hits the disk that was
 * published), size, partitions and holders (so a wipe can refuse a device in use).
 */
import { promises as fs } from 'fs';
import * as path from 'path';

/** What identifies a device across the agent's lifetime (and, with a stable id, across reboots). */
export interface DeviceIdentity {
  /** `major:minor`. */
  readonly devno: string;
  /**
   * The most stable name sysfs offers: `wwid:` (SCSI/NVMe), `serial:` (virtio), `dm:` (device
   * mapper UUID), `md:` (RAID UUID), or `loop:<backing file>`. A partition appends `#part<N>`.
   */
  readonly stableId?: string;
  /** The kernel's disk sequence number; a re-attached or replaced device gets a new one. */
  readonly diskseq?: string;
}

/** Stable ids that name the hardware (or array) itself, so they survive a reboot that renumbers devices. */
const HARDWARE_ID_PREFIXES = ['wwid:', 'serial:', 'dm:', 'md:'];

export const SYSFS = '/sys';

/** Splits Linux's `dev_t` (as `fs.stat(..., { bigint: true })` returns it) into `major:minor`. */
export function devnoOf(dev: bigint): string {
  // glibc's gnu_dev_major/gnu_dev_minor: the kernel's dev_t layout is a bit layout.
  /* eslint-disable no-bitwise */
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  /* eslint-enable no-bitwise */
  return `${major}:${minor}`;
}

/**
 * Why `current` is not the device `recorded` at publication, or undefined if it is.
 *
 * With a hardware id the id decides (a reboot may legitimately move the disk to another
 * major:minor). Without one (loop devices, virtio disks without serial), major:minor, the weak
 * id and the disk sequence number must all be unchanged; a reboot then makes the agent refuse,
 * which errs on the side of not wiping.
 */
export function identityMismatch(recorded: DeviceIdentity, current: DeviceIdentity): string | undefined {
  const describe = (d: DeviceIdentity) => [d.devno, d.stableId ?? 'no stable id', d.diskseq ? `diskseq ${d.diskseq}` : undefined]
    .filter(Boolean).join(', ');
  const differs = `recorded ${describe(recorded)}; found ${describe(current)}`;
  if (recorded.stableId && HARDWARE_ID_PREFIXES.some(p => recorded.stableId!.startsWith(p))) {
    return recorded.stableId === current.stableId ? undefined : differs;
  }
  if (recorded.devno !== current.devno || recorded.stableId !== current.stableId) return differs;
  if (recorded.diskseq !== undefined && recorded.diskseq !== current.diskseq) return differs;
  return undefined;
}

/** The sysfs directory of a device (`/sys/dev/block/M:m` resolves into `/sys/devices/...`). */
function sysDir(devno: string, sysRoot: string): string {
  return path.join(sysRoot, 'dev', 'block', devno);
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    const text = (await fs.readFile(file, 'utf8')).replace(/\0/g, '').trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** True if the sysfs directory describes a partition (it then lives inside its disk's directory). */
async function partitionNumber(dir: string): Promise<string | undefined> {
  return readTrimmed(path.join(dir, 'partition'));
}

async function diskStableId(dir: string): Promise<string | undefined> {
  const candidates: Array<[string, string]> = [
    ['wwid', 'wwid:'], ['device/wwid', 'wwid:'], ['serial', 'serial:'],
    ['dm/uuid', 'dm:'], ['md/uuid', 'md:'], ['loop/backing_file', 'loop:'],
  ];
  for (const [file, prefix] of candidates) {
    const value = await readTrimmed(path.join(dir, file));
    if (value !== undefined) return prefix + value;
  }
  return undefined;
}

/** Reads the identity of the device `major:minor` from sysfs. */
export async function readDeviceIdentity(devno: string, sysRoot: string = SYSFS): Promise<DeviceIdentity> {
  const dir = sysDir(devno, sysRoot);
  const part = await partitionNumber(dir);
  const diskDir = part !== undefined ? path.join(dir, '..') : dir;
  const diskId = await diskStableId(diskDir);
  const diskseq = await readTrimmed(path.join(diskDir, 'diskseq'));
  const stableId = diskId !== undefined && part !== undefined ? `${diskId}#part${part}` : diskId;
  return { devno, ...(stableId !== undefined ? { stableId } : {}), ...(diskseq !== undefined ? { diskseq } : {}) };
}

/** Size of the device in bytes (sysfs `size` is always in 512-byte sectors). */
export async function deviceSizeBytes(devno: string, sysRoot: string = SYSFS): Promise<bigint | undefined> {
  const sectors = await readTrimmed(path.join(sysDir(devno, sysRoot), 'size'));
  return sectors !== undefined && /^\d+$/.test(sectors) ? BigInt(sectors) * 512n : undefined;
}

/** `major:minor` of every partition of a whole disk (none for a partition or an unpartitioned disk). */
export async function partitionsOf(devno: string, sysRoot: string = SYSFS): Promise<string[]> {
  const dir = sysDir(devno, sysRoot);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names) {
    if (await partitionNumber(path.join(dir, name)) === undefined) continue;
    const dev = await readTrimmed(path.join(dir, name, 'dev'));
    if (dev !== undefined) found.push(dev);
  }
  return found;
}

/** Names of the devices holding `major:minor` (device mapper, md, bcache ...). */
export async function holdersOf(devno: string, sysRoot: string = SYSFS): Promise<string[]> {
  try {
    return await fs.readdir(path.join(sysDir(devno, sysRoot), 'holders'));
  } catch {
    return [];
  }
}
