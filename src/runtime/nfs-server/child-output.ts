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

/**
 * ganesha lines that look alarming but say nothing is wrong in this pod, logged at debug
 * (ganesha's severity stays in the entry), each with why. Matched by ganesha's function
 * name and the text, so the same words from elsewhere keep their level.
 */
const EXPECTED: ReadonlyArray<{ readonly fn: string; readonly text: RegExp; readonly why: string }> = [
  { fn: '__Register_program', text: /^Cannot register NFS V4 on TCP$/, why: 'no rpcbind in the pod: NFSv4 clients need none' },
  { fn: 'find_keytab_entry', text: /default realm/, why: 'Kerberos is off; the callback channel looks for a machine credential anyway' },
  { fn: 'gssd_refresh_krb5_machine_credential', text: /keytab/, why: 'Kerberos is off; the callback channel looks for a machine credential anyway' },
  { fn: 'nfs_rpc_cb_init_ccache', text: /^gssd_refresh_krb5_machine_credential failed/, why: 'Kerberos is off; the callback channel looks for a machine credential anyway' },
  { fn: 'load_rados_config', text: /^Missing RADOS URLs backend library$/, why: 'configuration from RADOS is not used' },
  { fn: 'main', text: /^No export entries found in configuration file/, why: 'volumes are exported over D-Bus once ganesha runs' },
  { fn: 'rpc', text: /^svc_vc_wait: .* recv errno 104 /, why: 'a client closed its connection' },
];

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
    const msg = message.trim();
    const expected = EXPECTED.find((e) => e.fn === fn && e.text.test(msg));
    this.level = expected ? 'debug' : GANESHA_LEVELS[severity] ?? 'info';
    return {
      level: this.level,
      msg,
      fields: { child: this.child, component: component.trim(), function: fn, thread, severity, ...(expected ? { expected: expected.why } : {}) },
    };
  }
}
