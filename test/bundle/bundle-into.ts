import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
const BUNDLE_TASK = 'bundle:runtime/main';

/**
 * Runs the esbuild step of the bundle task as it is, writing the bundle (`index.js`) and its
 * metafile under `dir`; returns the metafile's path.
 */
export function bundleInto(dir: string): string {
  const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;
  const [command, ...args]: string[] = tasks[BUNDLE_TASK].steps.find((s: { execArgs?: string[] }) => s.execArgs?.[0] === 'esbuild').execArgs;
  const metafile = path.join(dir, 'index.meta.json');
  const redirected = args.map((a) => a.replace(/^--outfile=.*/, `--outfile=${path.join(dir, 'index.js')}`).replace(/^--metafile=.*/, `--metafile=${metafile}`));
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', command), [...redirected, '--log-level=error'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`esbuild exited ${r.status}: ${r.stderr}`);
  return metafile;
}
