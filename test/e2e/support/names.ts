import { randomBytes } from 'crypto';

/**
 * A DNS-label name unique to this run (`<prefix>-<6 hex>`), so tests that share
 * one cluster never collide, even when a file is run twice against `e2e:up`.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'e2e';
  return `${clean}-${randomBytes(3).toString('hex')}`;
}
