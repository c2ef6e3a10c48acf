/**
 * Paths in messages, logs and events. A tenant chooses the names inside a volume, so a path
 * is shown with control characters and bytes that are not UTF-8 escaped (`\xff`), and cut
 * in the middle to a readable length: a tree deeper than PATH_MAX would otherwise put
 * kilobytes into an event, and a newline in a name could forge a log line.
 */

/** Longest path shown, in characters (the start names the volume, the end the entry). */
export const MAX_SHOWN_CHARS = 256;

const ELLIPSIS = '...';

/** A path (or name) as it may appear in a message. */
export function showPath(p: string | Buffer): string {
  const text = typeof p === 'string' ? escapeText(p) : escapeBytes(p);
  if (text.length <= MAX_SHOWN_CHARS) return text;
  const head = Math.floor((MAX_SHOWN_CHARS - ELLIPSIS.length) / 2);
  const tail = MAX_SHOWN_CHARS - ELLIPSIS.length - head;
  return text.slice(0, head) + ELLIPSIS + text.slice(text.length - tail);
}

/** A file system error that names its path as {@link showPath} shows it; `code` is the errno name. */
export class PathError extends Error implements NodeJS.ErrnoException {
  constructor(readonly code: string, readonly syscall: string | undefined, p: string | Buffer) {
    super(`${syscall ?? 'access'} ${showPath(p)}: ${code}`);
    this.name = 'PathError';
  }
}

/**
 * A file system error about `p`, with the path shown safely and the errno `code` kept (so
 * callers can still tell ENOSPC from EACCES). Node's own message would name the
 * `/proc/self/fd/<n>/...` path the walkers use, which means nothing to a person. An error
 * that names its path already, or has no errno code, is returned as it is.
 */
export function errorAt(error: unknown, p: string | Buffer): Error {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof PathError || typeof e?.code !== 'string') return error instanceof Error ? error : new Error(String(error));
  return new PathError(e.code, e.syscall, p);
}

function escapeText(text: string): string {
  // C0 and C1 controls, DEL, and the backslash itself (so an escape cannot be forged).
  return text.replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (c) => (c === '\\' ? '\\\\' : `\\x${hex(c.charCodeAt(0))}`));
}

function escapeBytes(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return escapeText(text);
  // Not UTF-8: ASCII as it is, every other byte as \xNN.
  let out = '';
  for (const b of bytes) out += b < 0x80 ? escapeText(String.fromCharCode(b)) : `\\x${hex(b)}`;
  return out;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
