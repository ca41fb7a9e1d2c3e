// The events result schema, built from the catalogue: every line the log writes is accepted (as
// recorded, with who asked, and counted as noise), and a line the catalogue does not describe is not.
import t from 'tap';
import * as v from 'valibot';
import { securityEventSchema } from '../../../agent/wire/security-event.js';
import { SECURITY_EVENT_NAMES } from '../../../agent/wire/security-events.js';
import { SAMPLES } from '../../support/security-event-samples.js';

const time = '2026-12-04T10:00:00.000Z';
const peer = { uid: 33, gid: 33, pid: 4242 };
const counted = { count: 3, since: time, kinds: { socket: 3 }, peerUids: { '33': 3 } };

t.test('every recorded line is accepted, with the origin and peer the log adds, and fields added later', async (t) => {
  for (const event of SECURITY_EVENT_NAMES) {
    for (const fields of SAMPLES[event]) {
      // SyncPeerRejected's own peer (the slave) comes after the kernel's, as the schema reads it.
      const line = { time, event, origin: 'socket:cli', peer, ...fields };
      t.ok(v.is(securityEventSchema, line), `${event}: ${JSON.stringify(fields)}`);
      t.ok(v.is(securityEventSchema, { ...line, addedLater: 1 }), `${event}: a field added later`);
    }
  }
});

t.test('noise lines: counts per interval, for the noise and the public events only', async (t) => {
  t.ok(v.is(securityEventSchema, { time, event: 'InvalidMessages', ...counted }));
  t.ok(v.is(securityEventSchema, { time, event: 'MaintenanceLoginFailed', reason: 'throttled', ...counted }));
  t.ok(v.is(securityEventSchema, { time, event: 'TamperDetectionActivated', ...counted }));
  t.ok(v.is(securityEventSchema, { time, event: 'AttemptedReplayAttacks', ...counted }));
  t.notOk(v.is(securityEventSchema, { time, event: 'MaintenanceLoginFailed', reason: 'wrongPassword', ...counted }), 'a checked wrong guess is never counted');
  t.notOk(v.is(securityEventSchema, { time, event: 'LogExported', ...counted }));
});

t.test('what no event looks like is refused', async (t) => {
  t.notOk(v.is(securityEventSchema, { time, event: 'Tampered' }), 'an unknown event');
  t.notOk(v.is(securityEventSchema, { time: 'yesterday', event: 'ResetPasswordPukBlocked', origin: 'socket:cli' }), 'a time that is not one');
  t.notOk(v.is(securityEventSchema, { time, event: 'StartupOfTheDevice', version: '0.1.0' }), 'a field the event always has, missing');
  t.notOk(
    v.is(securityEventSchema, { time, event: 'ReconfigurationOfSecurityParameters', change: 'policy', by: 'manufacturer', origin: 'socket:cli' }),
    'a change the daemon never writes',
  );
  t.notOk(
    v.is(securityEventSchema, { time, event: 'StartupOfTheDevice', version: '0.1.0', provisioned: true, generation: 1, peer: { uid: 'root' } }),
    'a peer not from the kernel',
  );
});
