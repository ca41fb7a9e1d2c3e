// A stranger on the socket (uid 65534 in the socket's group) guessing at the throttle's pace: a
// wrong password or PUK each time its wait ends, for a bounded time. For bench:abuse's lockout
// and PUK phases, where the rightful user (this process, root) logs in beside it.
import { ATTACKER_UID, nodeAs } from '../test/support/attacker.js';

const SCRIPT = `
import { connect } from 'node:net';
const [socket, method, seconds] = process.argv.slice(-3);
const deadline = performance.now() + Number(seconds) * 1000;
const ask = (params) => new Promise((resolve) => {
  const s = connect(socket, () => s.write(JSON.stringify({ v: 1, id: 1, method, params, origin: 'stranger' }) + '\\n'));
  let text = '';
  s.on('data', (d) => { text += d; if (text.includes('\\n')) { s.destroy(); resolve(JSON.parse(text)); } });
  s.on('error', () => resolve({ ok: false, error: { code: 'unreachable' } }));
});
const counts = { refused: 0, throttled: 0, blocked: 0, other: 0 };
for (let i = 0; performance.now() < deadline; i++) {
  const params = method === 'login'
    ? { role: i % 2 ? 'operator' : 'manufacturer', password: 'Wrong-Guess-' + i }
    : { puk: 'Wrong-Puk-' + i + '-abc', newPassword: 'Another-Pass-' + i + '-Q7' };
  const a = await ask(params);
  const code = a.error?.code;
  const kind = code === 'refused' ? 'refused' : code === 'throttled' ? (/blocked/.test(a.error.message) ? 'blocked' : 'throttled') : 'other';
  counts[kind]++;
  if (kind === 'blocked') break;
  // Guess again as soon as the wait ends (the answer says how long), never faster than 50 ms.
  const wait = kind === 'throttled' ? Math.max(50, (a.error.waitSeconds ?? 1) * 1000) : 50;
  await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - performance.now()))));
}
console.log(JSON.stringify(counts));
`;

/** Starts the stranger; `done` resolves with what it was answered when its time is up (or its PUK share is blocked). */
export function strangerGuessing(socket: string, gid: number, method: 'login' | 'puk.reset', seconds: number): { done: Promise<string> } {
  const done = nodeAs(ATTACKER_UID, gid, SCRIPT, [socket, method, String(seconds)]).then((r) => {
    if (r.code !== 0) throw new Error(`the stranger failed (${r.code}): ${r.stderr}`);
    const c = JSON.parse(r.stdout) as Record<string, number>;
    return `stranger uid ${ATTACKER_UID}: ${c.refused} checked, ${c.throttled} throttled, ${c.blocked} blocked`;
  });
  return { done };
}
