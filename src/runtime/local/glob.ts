/**
 * `namePattern` matching: `*` is any run of characters, `?` one character, everything else
 * literal. A leading dot is not special (a pattern of `*` matches `.hidden`), as in the
 * upstream local static provisioner.
 */
function globToRegExp(pattern: string): RegExp {
  const body = [...pattern].map(ch => {
    if (ch === '*') return '.*';
    if (ch === '?') return '.';
    return ch.replace(/[\\^$.|+()[\]{}]/g, c => `\\${c}`);
  }).join('');
  return new RegExp(`^${body}$`, 'su');
}

export function matchesGlob(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name);
}
