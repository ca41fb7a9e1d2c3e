// systemd's notify protocol through native/sd-notify, received by a real Unix datagram socket:
// a path and the abstract namespace ("@name"); a socket that is gone or a path too long is logged, never thrown.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import t from 'tap';
import unix from 'unix-dgram';
import { SystemdNotifier } from '../../../agent/daemon/sd-notify.js';

interface Listener {
  messages: string[];
  close(): void;
}

function listen(path: string): Listener {
  const messages: string[] = [];
  const socket = unix.createSocket('unix_dgram', (msg: Buffer) => messages.push(msg.toString()));
  socket.bind(path);
  return { messages, close: () => socket.close() };
}

/** unix-dgram binds no abstract name as the kernel names it: python3's socket module does (one message per line). */
async function listenAbstract(name: string): Promise<Listener> {
  const messages: string[] = [];
  const script = `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind('\\0'+sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(s.recv(4096).decode(),flush=True)`;
  const child = spawn('python3', ['-c', script, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  let bound: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (bound = resolve));
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (line === 'bound') bound();
      else messages.push(line);
    }
  });
  await ready;
  return { messages, close: () => child.kill() };
}

function notifierFor(notifySocket: string | undefined, lines: string[] = []): SystemdNotifier | null {
  const saved = process.env.NOTIFY_SOCKET;
  if (notifySocket === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = notifySocket;
  try {
    return SystemdNotifier.fromEnvironment(pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }));
  } finally {
    if (saved === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = saved;
  }
}

t.test('READY=1 and the status reach a socket at a path and one in the abstract namespace', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-notify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const name = `ccguard-test-${process.pid}`;
  for (const [where, listener, env] of [
    ['path', listen(join(dir, 'notify.sock')), join(dir, 'notify.sock')],
    ['abstract', await listenAbstract(name), `@${name}`],
  ] as const) {
    const notifier = notifierFor(env);
    if (!notifier) throw new Error('no notifier with NOTIFY_SOCKET set');
    notifier.ready('serving /run/ccguard/ccguard.sock; provisioned');
    notifier.stopping();
    for (let i = 0; i < 50 && listener.messages.length < 4; i++) await sleep(10);
    listener.close();
    t.same(
      listener.messages,
      ['READY=1', 'STATUS=serving /run/ccguard/ccguard.sock; provisioned', 'STOPPING=1', 'STATUS=stopping: finishing the requests in progress'],
      where,
    );
  }
});

t.test('without NOTIFY_SOCKET there is no notifier; a socket that is gone or a path too long is logged, not thrown', async (t) => {
  t.equal(notifierFor(undefined), null);
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-notify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [what, path, reason] of [
    ['gone', join(dir, 'nobody-listens.sock'), /No such file or directory|Connection refused/],
    ['too long', join(dir, 'x'.repeat(200)), /longer than a Unix socket path can be/],
  ] as const) {
    const lines: string[] = [];
    const notifier = notifierFor(path, lines);
    t.doesNotThrow(() => notifier?.status('serving'), what);
    t.match(lines.join(''), /sd_notify failed/, `${what}: logged`);
    t.match(lines.join(''), reason, `${what}: the reason`);
  }
});
