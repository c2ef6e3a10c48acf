/**
 * Whether one slash-separated path is another or lies below it, by whole segments
 * (`/a/bc` is not inside `/a/b`). Constructs refuse overlapping discovery directories with
 * it; the controller refuses overlapping class directories and volume directories.
 */

/** Is `path` equal to `dir` or below it? A `dir` ending in '/' (the root) contains everything under it. */
export function isSameOrInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Equal, or one is an ancestor directory of the other. */
export function pathsOverlap(a: string, b: string): boolean {
  return isSameOrInside(a, b) || isSameOrInside(b, a);
}
