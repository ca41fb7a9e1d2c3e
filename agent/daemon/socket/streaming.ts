import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { StateError } from '../../common/errors.js';
import { PROTOCOL_VERSION, type DataFrame, type RequestId } from '../../wire/protocol.js';
import type { Connection } from './connection.js';

/**
 * Sends `source` as data frames (a header line, then its bytes) at the pace the client reads;
 * rejects, destroying `source`, when the client goes away.
 */
export async function streamFrames(conn: Connection, id: RequestId, source: Readable, progress: () => { done: number; total: number }): Promise<void> {
  const { socket } = conn;
  const gone = (): void => {
    source.destroy(new StateError('the client closed the connection during the transfer'));
  };
  socket.once('close', gone);
  try {
    for await (const chunk of source) {
      const data = chunk as Buffer;
      const frame: DataFrame = { v: PROTOCOL_VERSION, id, bytes: data.length, ...progress() };
      conn.write(`${JSON.stringify(frame)}\n`);
      if (!conn.write(data)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    }
  } finally {
    socket.off('close', gone);
  }
}
