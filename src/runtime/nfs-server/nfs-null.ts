/**
 * An ONC RPC NULL call to the NFS program (100003, version 4) over TCP: the cheapest
 * request that proves ganesha accepts connections and answers NFS, which an open port
 * alone does not (ganesha listens before its exports are loaded and during shutdown).
 */
import * as net from 'net';

const NFS_PROGRAM = 100003;
const NFS_V4 = 4;
const CALL = 0;
const REPLY = 1;
const MSG_ACCEPTED = 0;
const SUCCESS = 0;
const LAST_FRAGMENT = 0x80000000;

/** The record-marked CALL message (one fragment; `xid` an unsigned 32-bit integer) for NULL with AUTH_NONE credentials. */
export function nullCall(xid: number): Buffer {
  const words = [xid, CALL, 2, NFS_PROGRAM, NFS_V4, 0, 0, 0, 0, 0];
  const message = Buffer.alloc(4 + words.length * 4);
  message.writeUInt32BE(LAST_FRAGMENT + words.length * 4, 0);
  words.forEach((w, i) => message.writeUInt32BE(w, 4 + i * 4));
  return message;
}

/** True when `reply` (record marker included) accepts the call `xid` with SUCCESS. */
export function isSuccessfulReply(reply: Buffer, xid: number): boolean {
  if (reply.length < 28) return false;
  const verifierLength = reply.readUInt32BE(20);
  const acceptAt = 24 + Math.ceil(verifierLength / 4) * 4;
  return reply.readUInt32BE(4) === xid
    && reply.readUInt32BE(8) === REPLY
    && reply.readUInt32BE(12) === MSG_ACCEPTED
    && reply.length >= acceptAt + 4
    && reply.readUInt32BE(acceptAt) === SUCCESS;
}

/** Sends one NULL call; resolves true on an accepted reply, false on anything else or after `timeoutMs`. */
export function nfsNull(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const xid = Math.floor(Math.random() * 0xffffffff);
    let received = Buffer.alloc(0);
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(nullCall(xid)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readUInt32BE(0) % LAST_FRAGMENT) done(isSuccessfulReply(received, xid));
    });
    socket.on('end', () => done(false));
  });
}
