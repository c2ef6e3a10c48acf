/**
 * One shape for every construct validation error: where, which prop, the bad value, and
 * what to do instead. A person reading a failed `cdk8s synth` should not need the source.
 */

/** Longest part of a value a message shows, in characters; the rest is cut with "...". */
const MAX_QUOTED_CHARS = 100;

/**
 * Builds the error for a bad prop.
 *
 * @param where the construct path (`node.path`) or class name
 * @param prop the prop as the user wrote it (`server.host`, `autoGrow.max`)
 * @param value the value given (quoted with {@link quote})
 * @param problem what is wrong with it (`is not a DNS label`)
 * @param fix what to do instead (`use lowercase letters, digits and '-'`)
 */
export function propError(where: string, prop: string, value: unknown, problem: string, fix: string): Error {
  return new Error(`${where}: ${prop} ${quote(value)} ${problem}: ${fix}`);
}

/**
 * A user's or tenant's value as a message shows it: strings JSON-quoted, so a newline or
 * an escape sequence cannot forge log lines or repaint a terminal (C0/C1 controls, line
 * separators and bidirectional overrides all appear as `\uXXXX`); NaN and Infinity by
 * name (JSON would print `null`); anything longer than {@link MAX_QUOTED_CHARS} cut with
 * "...", so a multi-KB value cannot flood an event or an error.
 */
export function quote(value: unknown): string {
  if (value === undefined) return '(not set)';
  if (typeof value === 'string') return escapeInvisible(JSON.stringify(cut(value)));
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? v.toString() : v))
      ?? String(value);
  } catch {
    text = String(value);
  }
  return escapeInvisible(cut(text));
}

/** The first {@link MAX_QUOTED_CHARS} characters (whole code points) and "..." when longer. */
function cut(text: string): string {
  const chars = Array.from(text);
  return chars.length > MAX_QUOTED_CHARS ? `${chars.slice(0, MAX_QUOTED_CHARS).join('')}...` : text;
}

/** JSON leaves DEL, C1 controls, U+2028/9 and bidi controls as they are: escape them too. */
function escapeInvisible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
