import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleContext } from './app.js';

/**
 * Server-sent events: `snapshot` once a second while the browser stays and its session lives (the
 * daemon is asked each time, so a password changed elsewhere ends the stream too).
 */
export async function stream(
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ConsoleContext,
  snapshot: () => Promise<unknown>,
  periodMs = 1000,
): Promise<FastifyReply> {
  const token = req.consoleSession!.token;
  reply.hijack();
  const res = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value as string);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  let open = true;
  req.raw.on('close', () => (open = false));
  // At most an hour: the page opens a new stream (with a new session check) if it is still there.
  const until = Date.now() + 3_600_000;
  while (open && Date.now() < until) {
    try {
      // A check, not a use: an open page does not keep an idle session alive.
      await ctx.daemon.call('session.check', { session: token }, req.ip);
      res.write(`data: ${JSON.stringify(await snapshot())}\n\n`);
    } catch {
      res.write('event: ended\ndata: {}\n\n');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, periodMs));
  }
  res.end();
  return reply;
}
