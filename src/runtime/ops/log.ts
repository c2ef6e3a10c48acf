/**
 * JSON logs, one object per line on stdout: what log collectors parse without
 * configuration. Errors are flattened to their message and code.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export class JsonLogger implements Logger {
  constructor(
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
    private readonly minLevel: LogLevel = 'info',
    private readonly base: LogFields = {},
  ) {}

  debug(msg: string, fields?: LogFields): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: LogFields): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: LogFields): void { this.log('error', msg, fields); }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.write, this.minLevel, { ...this.base, ...fields });
  }

  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    const entry: LogFields = { time: new Date().toISOString(), level, msg, ...this.base };
    for (const [key, value] of Object.entries(fields ?? {})) entry[key] = plain(value);
    this.write(`${JSON.stringify(entry)}\n`);
  }
}

/** Errors do not serialise to JSON; keep what a reader needs. */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined ? value.message : { message: value.message, code };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
