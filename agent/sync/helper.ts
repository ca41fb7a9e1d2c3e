// One push to the slave, in its own process: ssh2 needs WebAssembly, which the jitless daemon
// lacks. Reads a job (JSON) on stdin, prints one JSON result line, exits.
import { readFile } from 'node:fs/promises';
import * as v from 'valibot';

const jobSchema = v.strictObject({
  host: v.string(),
  port: v.number(),
  user: v.string(),
  privateKeyFile: v.string(),
  hostKey: v.string(),
  command: v.string(),
  keepaliveMs: v.number(),
  timeoutMs: v.number(),
  payload: v.string(),
});
type Job = v.InferOutput<typeof jobSchema>;

export type PushFailure = 'hostKeyMismatch' | 'unreachable' | 'auth' | 'remote' | 'timeout' | 'key';
export type PushResult = { ok: true; reply: unknown } | { ok: false; code: PushFailure; message: string };

async function push(job: Job): Promise<PushResult> {
  const { Client, utils } = (await import('ssh2')).default;
  let privateKey: Buffer;
  try {
    privateKey = await readFile(job.privateKeyFile);
  } catch (err) {
    return {
      ok: false,
      code: 'key',
      message: `cannot read the sync key ${job.privateKeyFile} (${(err as NodeJS.ErrnoException).code ?? String(err)}); make it with "ccguard sync keygen"`,
    };
  }
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) return { ok: false, code: 'key', message: `${job.privateKeyFile} is not a usable SSH private key` };
  const signature = parsed.sign(Buffer.from(job.payload, 'utf8'));
  if (signature instanceof Error) return { ok: false, code: 'key', message: `signing with ${job.privateKeyFile} failed: ${signature.message}` };
  const envelope = `${JSON.stringify({ payload: job.payload, signature: signature.toString('base64') })}\n`;
  const pinned = Buffer.from(job.hostKey.trim().split(/\s+/)[1] ?? '', 'base64');
  const peer = `${job.user}@${job.host}:${job.port}`;

  return new Promise((resolve) => {
    const client = new Client();
    let mismatch = false;
    let settled = false;
    const finish = (result: PushResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, code: 'timeout', message: `${peer} did not complete the push within ${job.timeoutMs} ms` }),
      job.timeoutMs,
    );
    client.on('error', (err: Error & { level?: string }) => {
      if (mismatch)
        finish({ ok: false, code: 'hostKeyMismatch', message: `the host key of ${peer} is not the one pinned in sync.peer.hostKey: not connecting` });
      else if (err.level === 'client-authentication')
        finish({ ok: false, code: 'auth', message: `${peer} refused the sync key: install the line from "ccguard sync keygen" in its authorized_keys` });
      else finish({ ok: false, code: 'unreachable', message: `cannot reach ${peer}: ${err.message}` });
    });
    client.on('ready', () => {
      client.exec(job.command, (err, stream) => {
        if (err) return finish({ ok: false, code: 'remote', message: `cannot run "${job.command}" on ${peer}: ${err.message}` });
        // The slave's answer is one short line; more is a misbehaving peer, and is cut, not kept.
        let out = '';
        let errOut = '';
        stream.on('data', (d: Buffer) => {
          if (out.length < MAX_REPLY) out += d.toString();
        });
        stream.stderr.on('data', (d: Buffer) => {
          if (errOut.length < MAX_REPLY) errOut += d.toString();
        });
        stream.on('close', (code: number | null) => {
          const line = out.trim().split('\n').at(-1) ?? '';
          try {
            const reply = JSON.parse(line) as { ok?: boolean; result?: unknown; error?: { code?: unknown; message?: unknown } };
            if (reply.ok === true) finish({ ok: true, reply: answerFields(reply.result) });
            else finish({ ok: false, code: 'remote', message: `${peer} refused the push: ${peerText(reply.error?.message)}` });
          } catch {
            finish({ ok: false, code: 'remote', message: `"${job.command}" on ${peer} exited with ${code}: ${peerText(errOut || out)}` });
          }
        });
        stream.end(envelope);
      });
    });
    client.connect({
      host: job.host,
      port: job.port,
      username: job.user,
      privateKey,
      readyTimeout: job.timeoutMs,
      keepaliveInterval: job.keepaliveMs,
      keepaliveCountMax: 3,
      // Only the pinned key, compared byte for byte (ssh2 accepts any key without a verifier).
      hostVerifier: (key: Buffer) => {
        mismatch = !key.equals(pinned);
        return !mismatch;
      },
    });
  });
}

/** What a peer's answer may hold at most, and the part of its text that reaches the master's log and status. */
const MAX_REPLY = 64 * 1024;
// eslint-disable-next-line no-control-regex -- control characters from the peer are exactly what goes
const PEER_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
function peerText(text: unknown): string {
  if (typeof text !== 'string') return 'no reason given';
  return text.replace(PEER_UNSAFE, ' ').trim().slice(0, 200);
}

/** Only the fields the master reads from the slave's answer; nothing else of it is passed on. */
function answerFields(result: unknown): Record<string, unknown> {
  if (result === null || typeof result !== 'object') return {};
  const { revision, applied, sealingKey } = result as Record<string, unknown>;
  return { revision, applied, sealingKey };
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const job = v.parse(jobSchema, JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(`${JSON.stringify(await push(job))}\n`);
process.exit(0);
