// The unread-answer ledger over real Unix sockets: what the admission rules count per peer uid
// and daemon-wide, as the kernel and Node hold it, and only for connections that owe reads.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Connection, UnreadLedger } from '../../../../agent/daemon/socket/connection.js';

const dir = await mkdtemp(join(tmpdir(), 'ccguard-ledger-'));
const path = join(dir, 's.sock');
const accepted: Socket[] = [];
const server = createServer((socket) => accepted.push(socket));
server.listen(path);
await once(server, 'listening');
t.teardown(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

/** A connected pair: the daemon's end (as a Connection of `uid`) and the client's, paused so nothing is read. */
async function pair(ledger: UnreadLedger, uid: number): Promise<{ conn: Connection; client: Socket }> {
  const client = connect(path);
  client.pause();
  await once(client, 'connect');
  while (accepted.length === 0) await new Promise((resolve) => setImmediate(resolve));
  const socket = accepted.shift() as Socket;
  t.teardown(() => {
    client.destroy();
    socket.destroy();
  });
  return { conn: new Connection(socket, { uid, gid: uid, pid: 1 }, ledger), client };
}

const MiB = Buffer.alloc(1024 * 1024, 'x');

t.test('answers a client does not read count for its uid and daemon-wide, not for another uid; reading them clears the count', async (t) => {
  const ledger = new UnreadLedger();
  const a = await pair(ledger, 1000);
  const b = await pair(ledger, 2000);
  t.equal(ledger.unread(), 0, 'nothing written, nothing owed');
  for (let i = 0; i < 4; i++) a.conn.write(MiB);
  const owed = ledger.unread(1000);
  t.ok(owed > 2 * MiB.length, `uid 1000 owes ${owed} bytes (what the kernel did not take)`);
  t.equal(owed, a.conn.unread, "the connection's own count");
  t.equal(ledger.unread(2000), 0, 'uid 2000 owes nothing');
  t.equal(ledger.unread(), owed, 'daemon-wide');

  b.conn.write('a short answer\n');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(ledger.unread(2000), 0, 'a short answer the kernel took at once is not owed');

  let read = 0;
  a.client.on('data', (d: Buffer) => (read += d.length));
  a.client.resume();
  while (read < 4 * MiB.length) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(ledger.unread(1000), 0, 'read: nothing owed');
  t.equal(ledger.unread(), 0);
});

t.test('a forgotten connection (closed) is no longer counted', async (t) => {
  const ledger = new UnreadLedger();
  const a = await pair(ledger, 1000);
  for (let i = 0; i < 4; i++) a.conn.write(MiB);
  t.ok(ledger.unread(1000) > 0);
  ledger.forget(a.conn);
  t.equal(ledger.unread(1000), 0);
});
