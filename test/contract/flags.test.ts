/**
 * The flag specs are the one definition of each command's flags: the docs' flag tables
 * list exactly them (with the same defaults), and the constructs cannot write a flag
 * that is not in them.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { NFS_FLAGS } from '../../src/contract/controller-config';
import { flagArg, FlagSpec, LOCAL_FLAG_SPECS, NFS_FLAG_SPECS, NFS_SERVER_FLAG_SPECS } from '../../src/contract/flags';

/** The rows `| \`--name\` | default | meaning |` of a markdown file, as [name, default]. */
function documentedFlags(doc: string): Array<[string, string]> {
  const text = readFileSync(path.join(__dirname, '..', '..', 'docs', doc), 'utf8');
  return [...text.matchAll(/^\| `--([a-z-]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()]);
}

/** What the docs' Default column says for a spec; backticks and quotes are markup only. */
function defaultColumn(spec: FlagSpec): string {
  return spec.required ? 'required' : spec.defaultText ?? 'none';
}

const plain = (text: string) => text.replace(/[`"]/g, '');

test.each([
  ['controller.md', NFS_FLAG_SPECS],
  ['local.md', LOCAL_FLAG_SPECS],
  ['server.md', NFS_SERVER_FLAG_SPECS],
])('the flag table in docs/%s lists exactly the spec\'s flags, in order, with their defaults', (doc, specs) => {
  const documented = documentedFlags(doc).map(([name, text]) => [name, plain(text)]);
  const specified = Object.entries(specs as Record<string, FlagSpec>).map(([name, spec]) => [name, plain(defaultColumn(spec))]);
  expect(documented).toEqual(specified);
});

test('flagArg writes --name=value, a bare boolean, and refuses what the spec does not allow', () => {
  expect(flagArg(NFS_FLAG_SPECS, NFS_FLAGS.workers, 4)).toBe('--workers=4');
  expect(flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaderElect)).toBe('--leader-elect');
  expect(() => flagArg(NFS_FLAG_SPECS, 'no-such-flag' as typeof NFS_FLAGS.workers, 1)).toThrow(/--no-such-flag is not a flag of this command/);
  expect(() => flagArg(NFS_FLAG_SPECS, NFS_FLAGS.root)).toThrow(/--root needs a value/);
});
