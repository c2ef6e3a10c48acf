/**
 * Hostile trees for the walker tests: names that are not UTF-8, and chains of directories
 * deeper than PATH_MAX (built through descriptors, since no path can reach their bottom).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';

// eslint-disable-next-line no-bitwise
const DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;

/** Bytes that are not UTF-8, as names: a lone 0xff, a cut-off sequence, a lone continuation byte. */
export const BYTE_NAMES = [Buffer.from([0xff]), Buffer.from([0x61, 0xe2, 0x82]), Buffer.from([0x80, 0x0a])];

/** `dir/<name>` as bytes. */
export function at(dir: string | Buffer, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(dir), Buffer.from('/'), name]);
}

/**
 * Fills `dir` with entries named by {@link BYTE_NAMES}: a file of `fileBytes` bytes, a
 * directory holding a file and a symlink; returns how many entries were made.
 */
export function makeByteNamedTree(dir: string, fileBytes = 1): number {
  const [file, sub, inner] = BYTE_NAMES;
  fs.writeFileSync(at(dir, file), Buffer.alloc(fileBytes, 7));
  fs.mkdirSync(at(dir, sub));
  fs.writeFileSync(at(at(dir, sub), inner), 'x');
  fs.symlinkSync('/', at(at(dir, sub), file));
  return 4;
}

export interface DeepTree {
  /** Directories in the chain. */
  readonly levels: number;
  /** Bytes of the path from `dir` to the file at the bottom. */
  readonly pathBytes: number;
}

/**
 * A chain of `levels` directories called `name` below `dir`, with a file `leaf` at the
 * bottom. `atBottom` gets a path to the bottom directory that other processes can use
 * (`/proc/<pid>/fd/<n>`) while it is held open.
 */
export function makeDeepTree(dir: string, levels: number, name: string, atBottom?: (bottom: string) => void): DeepTree {
  let fd = fs.openSync(dir, DIR);
  try {
    for (let i = 0; i < levels; i++) {
      fs.mkdirSync(`/proc/self/fd/${fd}/${name}`);
      const next = fs.openSync(`/proc/self/fd/${fd}/${name}`, DIR);
      fs.closeSync(fd);
      fd = next;
    }
    fs.writeFileSync(`/proc/self/fd/${fd}/leaf`, 'x');
    atBottom?.(`/proc/${process.pid}/fd/${fd}`);
  } finally {
    fs.closeSync(fd);
  }
  return { levels, pathBytes: Buffer.byteLength(dir) + levels * (Buffer.byteLength(name) + 1) + '/leaf'.length };
}

/** Makes a file immutable (even root cannot unlink it): a removal that must fail. */
export function makeImmutable(file: string): void {
  execFileSync('chattr', ['+i', file]);
}
