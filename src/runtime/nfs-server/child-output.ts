/**
 * The output of the server's children (ganesha, its bus) as log entries. Both write plain
 * text; the supervisor reads it line by line and logs each line through the command's JSON
 * logger, so every line of the container's log is one JSON object (log collectors parse the
 * pod's output as JSON lines, and a text line in between breaks that). ganesha's own
 * severity becomes the entry's level, so its errors are not logged as info.
 */
import type { LogFields, LogLevel } from '../ops/log';

export interface ChildLogEntry {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: LogFields;
}

/**
 * ganesha's line format (`-L STDERR`):
 * `<date> <time> : epoch <hex> : <host> : <program>-<pid>[<thread>] <function> :<component> :<LEVEL> :<text>`.
 */
const GANESHA_LINE = /^\S+ \S+ : epoch [0-9a-f]+ : \S+ : \S+?\[([^\]]*)\] (\S+) :(.+?) :([A-Z_]+) :(.*)$/;

/** ganesha's level names (log_levels in its log.c, short forms) and the log level each becomes. */
const GANESHA_LEVELS: Readonly<Record<string, LogLevel>> = {
  FATAL: 'error',
  MAJ: 'error',
  CRIT: 'error',
  WARN: 'warn',
  EVENT: 'info',
  INFO: 'info',
  DEBUG: 'debug',
  M_DBG: 'debug',
  F_DBG: 'debug',
};

/** Turns one child's output lines into log entries; a line without a header continues the one before. */
export class ChildOutput {
  /** The level of the last line with a header: ganesha's multi-line messages keep it. */
  private level: LogLevel = 'info';

  constructor(private readonly child: string) {}

  /** The entry for one line of output (without its newline); undefined for a blank line. */
  line(text: string): ChildLogEntry | undefined {
    const line = text.replace(/\r$/, '');
    if (line.trim() === '') return undefined;
    const m = GANESHA_LINE.exec(line);
    if (!m) return { level: this.level, msg: line, fields: { child: this.child } };
    const [, thread, fn, component, severity, message] = m;
    this.level = GANESHA_LEVELS[severity] ?? 'info';
    return {
      level: this.level,
      msg: message.trim(),
      fields: { child: this.child, component: component.trim(), function: fn, thread, severity },
    };
  }
}
