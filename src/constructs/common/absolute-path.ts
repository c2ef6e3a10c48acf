import * as path from 'path';
import { propError } from './errors';

/**
 * The one rule for absolute path props (an NFS export path, a local hostDir and mountDir):
 * trailing slashes are dropped (`/mnt/disks/` is `/mnt/disks`); a relative path, a control
 * character, and a ".", ".." or empty ("//") segment are refused, naming the plain path.
 *
 * @returns the path without trailing slashes
 */
export function normalizeAbsolutePath(where: string, prop: string, value: string, example: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw propError(where, prop, value, 'is empty', `give an absolute path, e.g. "${example}"`);
  }
  if (!value.startsWith('/')) {
    throw propError(where, prop, value, 'is relative', `write it as an absolute path, e.g. "/${value}"`);
  }
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw propError(where, prop, value, 'contains a control character', `remove it, e.g. "${example}"`);
  }
  const trimmed = value.replace(/\/+$/, '') || '/';
  const normal = path.posix.normalize(trimmed);
  if (normal !== trimmed) {
    throw propError(where, prop, value, 'has ".", ".." or "//" in it', `write the plain path "${normal}"`);
  }
  return trimmed;
}
