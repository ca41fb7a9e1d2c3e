// The socket server in-process, on a temporary socket with stub handlers: decoding, dispatch,
// the error mapping and admission rules end to end, byte for byte as a client reads them.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { StateError, ThrottledError } from '../../../../agent/common/errors.js';
import { openLogs } from '../../../../agent/logs/logging.js';
import { SocketServer, type Handlers } from '../../../../agent/daemon/socket/index.js';
import { methods, type Method } from '../../../../agent/wire/protocol.js';

/** A raw client: writes lines, reads the answers' lines as the daemon wrote them. */
class LineClient {
  readonly lines: string[] = [];
  readonly #waiters: Array<() => void> = [];
  #buffer = '';

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      this.#buffer += data;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.#buffer.slice(0, nl));
        this.#buffer = this.#buffer.slice(nl + 1);
      }
      this.#waiters.splice(0).forEach((wake) => wake());
    });
    socket.on('close', () => this.#waiters.splice(0).forEach((wake) => wake()));
  }

  static async open(path: string): Promise<LineClient> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new LineClient(socket);
  }

  send(line: string | object): void {
    this.socket.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
  }

  /** The next answer line, raw. */
  async next(): Promise<string> {
    while (this.lines.length === 0) {
      if (this.socket.destroyed) throw new Error('connection closed');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.lines.shift() as string;
  }

  async ask(line: string | object): Promise<Record<string, unknown>> {
    this.send(line);
    return JSON.parse(await this.next()) as Record<string, unknown>;
  }

  async closed(): Promise<boolean> {
    if (this.socket.destroyed) return true;
    await Promise.race([new Promise((resolve) => this.socket.once('close', resolve)), new Promise((resolve) => setTimeout(resolve, 2000))]);
    return this.socket.destroyed;
  }
}

async function serve(
  t: { teardown(fn: () => Promise<void>): void },
  overrides: Partial<Handlers>,
  maxClients = 8,
): Promise<{ path: string; before: string[]; agentLog: () => Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-socket-'));
  const logs = await openLogs(join(dir, 'logs'), { maxFileBytes: 1 << 20, maxFiles: 2 });
  const unstubbed = async (): Promise<never> => {
    throw new StateError('not stubbed');
  };
  const stubs = Object.fromEntries((Object.keys(methods) as Method[]).map((m) => [m, unstubbed]));
  const handlers = { ...stubs, ...overrides } as Handlers;
  const before: string[] = [];
  const path = join(dir, 'ccguard.sock');
  const server = new SocketServer({
    path,
    idleTimeoutMs: 60_000,
    maxClients,
    handlers,
    beforeEach: async () => void before.push('before'),
    log: logs.log,
    security: logs.security,
  });
  await server.listen();
  t.teardown(async () => {
    await server.close();
    logs.flush();
    await rm(dir, { recursive: true, force: true });
  });
  return { path, before, agentLog: async () => (logs.flush(), readFile(join(dir, 'logs', 'ccguard.log'), 'utf8')) };
}

t.test('an answer is the handler result in the envelope, byte for byte; beforeEach runs first', async (t) => {
  const { path, before } = await serve(t, { readers: async () => (before.push('handler'), { readers: [] } as never) });
  const client = await LineClient.open(path);
  client.send({ v: 1, id: 'a', method: 'readers' });
  t.equal(await client.next(), '{"v":1,"id":"a","ok":true,"result":{"readers":[]}}');
  t.same(before, ['before', 'handler']);
  client.socket.destroy();
});

t.test('every bad frame is answered with the problem named, and the connection goes on', async (t) => {
  const { path } = await serve(t, { readers: async () => ({ readers: [] }) as never });
  const c = await LineClient.open(path);
  t.same(await c.ask('{nope'), { v: 1, id: null, ok: false, error: { code: 'invalid', message: 'request is not valid JSON: send one JSON object per line' } });
  t.same(await c.ask('[1]'), {
    v: 1,
    id: null,
    ok: false,
    error: { code: 'invalid', message: 'invalid request: expected a JSON object {"v", "id", "method", "params"}' },
  });
  const envelope = await c.ask({ v: 2, id: 7, method: 'readers' });
  t.match(envelope, { id: 7, ok: false, error: { code: 'invalid', message: /^invalid request: .*protocol version/ } }, 'the id is salvaged');
  const unknown = await c.ask({ v: 1, id: 'u', method: 'rm -rf' });
  t.match(unknown, { id: 'u', ok: false, error: { code: 'invalid', message: /^unknown method: method is not one of status, login, / } });
  t.notMatch(JSON.stringify(unknown), /rm -rf/, 'never quoting what was sent');
  t.match(await c.ask({ v: 1, id: 'p', method: 'login', params: { role: 'root' } }), {
    id: 'p',
    ok: false,
    error: { code: 'invalid', message: /^invalid params for login: / },
  });
  c.send('x'.repeat(70 * 1024));
  t.same(JSON.parse(await c.next()), { v: 1, id: null, ok: false, error: { code: 'invalid', message: 'request frame exceeds 65536 bytes; it was discarded' } });
  t.same(await c.ask({ v: 1, id: 'ok', method: 'readers' }), { v: 1, id: 'ok', ok: true, result: { readers: [] } }, 'still served');
  c.socket.destroy();
});

t.test("the one error mapping: ccguard's errors with their details, anything else internal and logged", async (t) => {
  const { path, agentLog } = await serve(t, {
    status: async () => {
      throw new ThrottledError('slow down', 2500);
    },
    audit: async () => {
      throw new TypeError('secret detail');
    },
  });
  const c = await LineClient.open(path);
  t.equal(
    await (c.send({ v: 1, id: 1, method: 'status' }), c.next()),
    '{"v":1,"id":1,"ok":false,"error":{"code":"throttled","message":"slow down","waitSeconds":3}}',
  );
  const internal = await c.ask({ v: 1, id: 2, method: 'audit' });
  t.same(internal, { v: 1, id: 2, ok: false, error: { code: 'internal', message: 'internal error while handling audit; see the agent log' } });
  t.match(await agentLog(), /request failed/, 'the cause is in the agent log');
  c.socket.destroy();
});

t.test("the request context: the claimed origin beside the kernel's peer", async (t) => {
  let seen: unknown = null;
  const { path } = await serve(t, { readers: async (_p, ctx) => ((seen = { origin: ctx.origin, uid: ctx.peer?.uid ?? null }), { readers: [] } as never) });
  const c = await LineClient.open(path);
  await c.ask({ v: 1, id: 1, method: 'readers', origin: 'web' });
  t.same(seen, { origin: 'socket:web', uid: process.getuid?.() ?? null });
  c.socket.destroy();
});

t.test('followers: when every slot is taken by the same uid, the next follow is refused (throttled)', async (t) => {
  // maxClients 2: one follower slot.
  const { path } = await serve(t, { events: async (_p, ctx) => (ctx.follow(() => () => undefined), { events: [] }) }, 2);
  const first = await LineClient.open(path);
  t.same(await first.ask({ v: 1, id: 1, method: 'events', params: { follow: true } }), { v: 1, id: 1, ok: true, result: { events: [] } });
  const second = await LineClient.open(path);
  t.match(await second.ask({ v: 1, id: 2, method: 'events', params: { follow: true } }), {
    id: 2,
    ok: false,
    error: { code: 'throttled', message: /follower slots are taken/, waitSeconds: 10 },
  });
  // A third connection beyond maxClients evicts the idle non-follower, never the follower.
  const third = await LineClient.open(path);
  t.ok(await second.closed(), 'the idle connection made room');
  t.notOk(first.socket.destroyed, 'the follower stays');
  t.same(await third.ask({ v: 1, id: 3, method: 'readers' }), { v: 1, id: 3, ok: false, error: { code: 'internal', message: 'not stubbed' } });
  for (const c of [first, third]) c.socket.destroy();
});

t.test("a method's declared cost: `events` reserve their limit from the peer uid's budget at admission; in debt, the next is refused", async (t) => {
  const { path } = await serve(t, { events: async ({ limit }) => ({ events: Array.from({ length: limit }, () => ({})) }) as never });
  // The budget holds two of the largest reads; the third is admitted at zero and leaves a debt.
  for (let id = 1; id <= 3; id++) {
    const c = await LineClient.open(path);
    t.match(await c.ask({ v: 1, id, method: 'events', params: { limit: 10_000 } }), { ok: true });
    c.socket.destroy();
  }
  const fresh = await LineClient.open(path);
  t.same(await fresh.ask({ v: 1, id: 4, method: 'events' }), {
    v: 1,
    id: 4,
    ok: false,
    error: {
      code: 'throttled',
      message: 'the daemon answers a bounded number of security events per second to each client user; try again in a moment',
      waitSeconds: 1,
    },
  });
  fresh.socket.destroy();
});

t.test('a costly request answering less than it reserved gives the rest back', async (t) => {
  const { path } = await serve(t, { events: async () => ({ events: [] }) as never });
  // Each reserves 10000 and answers none: without the refund the third would leave a debt and the fifth be refused.
  for (let id = 1; id <= 6; id++) {
    const c = await LineClient.open(path);
    t.match(await c.ask({ v: 1, id, method: 'events', params: { limit: 10_000 } }), { ok: true }, `read ${id} admitted`);
    c.socket.destroy();
  }
});

t.test('streaming: data frames (a header line, then the bytes) before the response', async (t) => {
  const { path } = await serve(t, {
    'logs.export': async (_p, ctx) => {
      let calls = 0;
      await ctx.stream(Readable.from([Buffer.from('abc'), Buffer.from('de')]), () => ({ done: ++calls, total: 5 }));
      return { files: 1, logBytes: 5, encrypted: false };
    },
  });
  const socket = connect(path);
  let received = '';
  socket.setEncoding('utf8').on('data', (data: string) => void (received += data));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`${JSON.stringify({ v: 1, id: 'x', method: 'logs.export', params: { as: 'manufacturer', password: 'p', unencrypted: true } })}\n`);
  const end = '{"v":1,"id":"x","ok":true,"result":{"files":1,"logBytes":5,"encrypted":false}}\n';
  for (let i = 0; i < 200 && !received.endsWith(end); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(received, `{"v":1,"id":"x","bytes":3,"done":1,"total":5}\nabc{"v":1,"id":"x","bytes":2,"done":2,"total":5}\nde${end}`);
  socket.destroy();
});
