import { RefusedError } from '../../common/errors.js';
import type { AreaHandlers, Services } from './services.js';

/** A double station: the master's view of its slave, and the slave's side of a push. */
export function syncHandlers(s: Services): AreaHandlers<'sync.status' | 'sync.apply'> {
  return {
    'sync.status': async () => {
      if (!s.pusher) throw new RefusedError("no slave is configured: sync.peer in the config names it on a double station's master");
      return s.pusher.status();
    },
    'sync.apply': async ({ envelope }) => s.receiver.apply(envelope),
  };
}
