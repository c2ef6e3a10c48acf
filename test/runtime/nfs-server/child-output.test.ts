import { ChildOutput } from '../../../src/runtime/nfs-server/child-output';
import { JsonLogger } from '../../../src/runtime/ops/log';

// Lines as ganesha 4.3 wrote them in a server pod on a real node (`-L STDERR`).
const EVENT = '03/12/2026 16:10:23 : epoch 6b11946f : vm : nfs-ganesha-20[main] nfs_start :NFS STARTUP :EVENT :             NFS SERVER INITIALIZED';
const CRIT = '03/12/2026 16:10:24 : epoch 6b11946f : vm : nfs-ganesha-20[dbus_heartbeat] populate_posix_file_systems :FSAL :CRIT :Error 2 in setmntent(/etc/mtab): No such file or directory';
const MAJ = '03/12/2026 16:10:24 : epoch 6b11946f : vm : nfs-ganesha-20[dbus_heartbeat] dbus_message_entrypoint :DBUS :MAJ :Method (AddExport) on (org.ganesha.nfsd.exportmgr) failed: name = (x), message = (0 export entries added because (block validation) errors. Details:';
const CONTINUED = 'Config File (/data/exports.d/pvc-1.conf:10): 1 validation errors in block FSAL';
const WARN = '03/12/2026 16:10:23 : epoch 6b11946f : vm : nfs-ganesha-20[main] nfs4_recovery_init :CLIENT ID :WARN :Unknown recovery backend';
const DEBUG = '03/12/2026 16:10:23 : epoch 6b11946f : vm : nfs-ganesha-20[svc_2] nfs_rpc_process_request :DISP :F_DBG :Request from 127.0.0.1';

test('a ganesha line becomes an entry at its own level, with its text as the message and where it came from as fields', () => {
  const out = new ChildOutput('ganesha.nfsd');
  expect(out.line(EVENT)).toEqual({
    level: 'info',
    msg: 'NFS SERVER INITIALIZED',
    fields: { child: 'ganesha.nfsd', component: 'NFS STARTUP', function: 'nfs_start', thread: 'main', severity: 'EVENT' },
  });
  expect(out.line(CRIT)).toMatchObject({ level: 'error', msg: 'Error 2 in setmntent(/etc/mtab): No such file or directory', fields: { component: 'FSAL', severity: 'CRIT' } });
  expect(out.line(WARN)).toMatchObject({ level: 'warn', fields: { severity: 'WARN' } });
  expect(out.line(DEBUG)).toMatchObject({ level: 'debug', fields: { thread: 'svc_2', component: 'DISP' } });
});

// Lines every start of ganesha 4.3 writes in the server pod, none of them a fault there.
const EXPECTED_LINES = [
  '03/12/2026 18:58:53 : epoch 6b11bbed : vm : nfs-ganesha-23787[main] load_rados_config :CONFIG :WARN :Missing RADOS URLs backend library',
  '03/12/2026 18:58:53 : epoch 6b11bbed : vm : nfs-ganesha-23787[main] __Register_program :DISP :MAJ :Cannot register NFS V4 on TCP',
  '03/12/2026 18:58:53 : epoch 6b11bbed : vm : nfs-ganesha-23787[main] find_keytab_entry :NFS CB :WARN :Configuration file does not specify default realm while getting default realm name',
  '03/12/2026 18:58:53 : epoch 6b11bbed : vm : nfs-ganesha-23787[main] gssd_refresh_krb5_machine_credential :NFS CB :CRIT :ERROR: gssd_refresh_krb5_machine_credential: no usable keytab entry found in keytab /etc/krb5.keytab for connection with host localhost',
  '03/12/2026 18:58:53 : epoch 6b11bbed : vm : nfs-ganesha-23787[main] nfs_rpc_cb_init_ccache :NFS STARTUP :WARN :gssd_refresh_krb5_machine_credential failed (-1765328160:2)',
  '03/12/2026 16:10:23 : epoch 6b11946f : vm : nfs-ganesha-20[main] main :NFS STARTUP :WARN :No export entries found in configuration file !!!',
  '03/12/2026 16:10:23 : epoch 6b11946f : vm : nfs-ganesha-20[svc_7] rpc :TIRPC :EVENT :svc_vc_wait: 0x7fab4000a440 fd 16 recv errno 104 (will set dead)',
];

test('ganesha\'s start-up lines that are no fault in the pod (no rpcbind, Kerberos off, exports over D-Bus) are debug entries that say why', () => {
  const out = new ChildOutput('ganesha.nfsd');
  for (const line of EXPECTED_LINES) {
    const entry = out.line(line)!;
    expect(entry.level).toBe('debug');
    expect(entry.fields).toMatchObject({ severity: expect.stringMatching(/^(WARN|MAJ|CRIT|EVENT)$/), expected: expect.any(String) });
  }
  // The same words from another function keep their level.
  expect(out.line(MAJ)).toMatchObject({ level: 'error' });
  expect(out.line('03/12/2026 16:10:24 : epoch 6b11946f : vm : nfs-ganesha-20[main] nfs_Init :NFS STARTUP :CRIT :Cannot register NFS V4 on TCP')).toMatchObject({ level: 'error' });
});

test('a line without a header continues the message before it, at its level; blank lines are dropped', () => {
  const out = new ChildOutput('ganesha.nfsd');
  expect(out.line(MAJ)).toMatchObject({ level: 'error', fields: { severity: 'MAJ' } });
  expect(out.line(CONTINUED)).toEqual({ level: 'error', msg: CONTINUED, fields: { child: 'ganesha.nfsd' } });
  expect(out.line('')).toBeUndefined();
  expect(out.line('   \r')).toBeUndefined();
  expect(out.line(EVENT)).toMatchObject({ level: 'info' });
  expect(out.line(')')).toMatchObject({ level: 'info', msg: ')' });
});

test('the bus\'s lines (no ganesha header) are info entries of their child', () => {
  const out = new ChildOutput('dbus-daemon');
  expect(out.line('dbus-daemon[7]: [system] Activating service name=\'org.ganesha.nfsd\'\r')).toEqual({
    level: 'info',
    msg: 'dbus-daemon[7]: [system] Activating service name=\'org.ganesha.nfsd\'',
    fields: { child: 'dbus-daemon' },
  });
});

test('through the command\'s logger, every child line is one JSON object', () => {
  const written: string[] = [];
  const log = new JsonLogger((line) => written.push(line), 'info').child({ command: 'nfs-server' });
  const out = new ChildOutput('ganesha.nfsd');
  for (const line of [EVENT, MAJ, CONTINUED, DEBUG]) {
    const entry = out.line(line);
    if (entry) log[entry.level](entry.msg, entry.fields);
  }
  // The debug line is below the logger's level.
  expect(written).toHaveLength(3);
  const parsed = written.map((w) => JSON.parse(w));
  expect(parsed.map((p) => [p.level, p.child, p.command])).toEqual([
    ['info', 'ganesha.nfsd', 'nfs-server'],
    ['error', 'ganesha.nfsd', 'nfs-server'],
    ['error', 'ganesha.nfsd', 'nfs-server'],
  ]);
  expect(written.every((w) => w.endsWith('\n') && !w.slice(0, -1).includes('\n'))).toBe(true);
});
