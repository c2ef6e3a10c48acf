/**
 * A strict `--name=value` flag parser. The constructs write every flag the controller
 * reads, so anything it does not know is a mistake worth stopping for, with a one-line
 * message that names the flag.
 */
import type { FlagSpec } from '../../contract/flags';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, LogLevelValue } from '../../contract/values';

/** A configuration problem; `main` prints the message on one line and exits with status 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type FlagValue = string | boolean | number;

/**
 * Parses `--name=value` arguments against a table of known flags.
 *
 * - A flag given twice keeps the last value, so a caller can append an override
 *   (`... --root=/elsewhere`) to the arguments a manifest holds.
 * - A boolean flag may be bare (`--leader-elect`) or `--leader-elect=true|false`.
 * - Positional arguments, unknown flags and `--name value` (space-separated) are errors.
 */
export function parseFlags(args: readonly string[], specs: Readonly<Record<string, FlagSpec>>): Map<string, FlagValue> {
  const values = new Map<string, FlagValue>();
  for (const arg of args) {
    if (!arg.startsWith('--') || arg === '--') {
      throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}: flags are written --name=value`);
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const raw = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const spec = specs[name];
    if (!spec) {
      throw new ConfigError(`unknown flag --${name}; known flags: ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`);
    }
    values.set(name, convert(name, spec, raw));
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && !values.has(name)) {
      throw new ConfigError(`missing required flag --${name} (${spec.help})`);
    }
  }
  return values;
}

function convert(name: string, spec: FlagSpec, raw: string | undefined): FlagValue {
  switch (spec.kind) {
    case 'boolean':
      if (raw === undefined || raw === 'true') return true;
      if (raw === 'false') return false;
      throw new ConfigError(`flag --${name} must be true or false, got ${JSON.stringify(raw)}`);
    case 'integer':
      if (raw === undefined) throw new ConfigError(`flag --${name} needs a value: write --${name}=<integer>`);
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`flag --${name} must be an integer, got ${JSON.stringify(raw)}`);
      return Number(raw);
    case 'string':
      if (raw === undefined) throw new ConfigError(`flag --${name} needs a value: write --${name}=<value>`);
      return raw;
  }
}

/** The value of a command's log-level flag (`name`), one of {@link LOG_LEVELS}. */
export function logLevelOf(flags: ReadonlyMap<string, FlagValue>, name: string): LogLevelValue {
  const value = flags.get(name) as string | undefined ?? DEFAULT_LOG_LEVEL;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(`--${name}=${JSON.stringify(value)} is not a log level: use ${LOG_LEVELS.join(', ')}`);
  }
  return value as LogLevelValue;
}

/** Formats a flag table for `--help`. */
export function describeFlags(specs: Readonly<Record<string, FlagSpec>>): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `  --${name}${spec.kind === 'boolean' ? '[=true|false]' : '=<' + (spec.kind === 'integer' ? 'n' : 'value') + '>'}`;
    const notes = [spec.required ? 'required' : undefined, spec.defaultText ? `default ${spec.defaultText}` : undefined]
      .filter((x) => x !== undefined).join(', ');
    return { left, right: notes ? `${spec.help} (${notes})` : spec.help };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  return rows.map((r) => r.left.padEnd(width) + r.right).join('\n');
}
