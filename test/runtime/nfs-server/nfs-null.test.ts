import * as net from 'net';
import { isSuccessfulReply, nfsNull, nullCall } from '../../../src/runtime/nfs-server/nfs-null';

/** A reply as an RPC server writes it: marker, xid, REPLY, MSG_ACCEPTED, verifier, accept status. */
function reply(xid: number, acceptStatus: number, verifier = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(24 + verifier.length + 4 - 4);
  body.writeUInt32BE(xid, 0);
  body.writeUInt32BE(1, 4);
  body.writeUInt32BE(0, 8);
  body.writeUInt32BE(0, 12);
  body.writeUInt32BE(verifier.length, 16);
  verifier.copy(body, 20);
  body.writeUInt32BE(acceptStatus, 20 + verifier.length);
  const marker = Buffer.alloc(4);
  marker.writeUInt32BE(0x80000000 + body.length, 0);
  return Buffer.concat([marker, body]);
}

test('the call is one record-marked fragment: NFS program 100003, version 4, procedure 0, no auth', () => {
  const call = nullCall(0xdeadbeef);
  expect(call.readUInt32BE(0)).toBe(0x80000000 + 40);
  expect([...Array(10).keys()].map((i) => call.readUInt32BE(4 + i * 4))).toEqual([0xdeadbeef, 0, 2, 100003, 4, 0, 0, 0, 0, 0]);
});

test('only an accepted, successful reply to the same xid counts', () => {
  expect(isSuccessfulReply(reply(7, 0), 7)).toBe(true);
  expect(isSuccessfulReply(reply(7, 0, Buffer.alloc(8)), 7)).toBe(true);
  expect(isSuccessfulReply(reply(8, 0), 7)).toBe(false);
  expect(isSuccessfulReply(reply(7, 2), 7)).toBe(false);
  expect(isSuccessfulReply(Buffer.alloc(8), 7)).toBe(false);
});

test('a port that accepts connections but never answers NFS is not serving', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    expect(await nfsNull('127.0.0.1', port, 200)).toBe(false);
  } finally {
    silent.close();
  }
});
