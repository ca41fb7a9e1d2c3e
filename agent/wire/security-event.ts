import * as v from 'valibot';
import { EVENT_DEFINITIONS, eventEntry, fieldShapes, origin, SECURITY_EVENT_NAMES, type SecurityEventName } from './security-events.js';

/** Who asked, added by the log to an event recorded during a socket request (an event's own fields come after). */
const who = {
  origin: v.optional(origin),
  peer: v.optional(
    v.pipe(
      v.strictObject({ uid: v.number(), gid: v.number(), pid: v.number() }),
      v.description('the client process as the kernel reports it (SO_PEERCRED), not what it claims'),
    ),
  ),
};

/** A noise line: what an interval counted of one event, never what a client sent. */
const counted = {
  count: v.pipe(v.number(), v.integer(), v.minValue(1)),
  since: v.pipe(v.string(), v.isoTimestamp()),
  kinds: v.pipe(v.record(v.string(), v.number()), v.description('counts by the kind, cause, method, role or channel token')),
  peerUids: v.pipe(v.record(v.string(), v.number()), v.description("counts by the kernel's peer uid")),
};

/** Each way one event's line may look: its fields as recorded, and for noise the interval's counts. */
function lines(event: SecurityEventName): v.GenericSchema[] {
  const entry = eventEntry(event);
  const named = { event: v.literal(event) };
  const recorded = fieldShapes(event).map((fields) => v.looseObject({ ...named, ...who, ...fields }));
  if (entry.noise === 'never' && entry.publicAllowance === undefined) return recorded;
  const total =
    entry.noise === 'whenThrottled' ? v.looseObject({ ...named, reason: v.literal('throttled'), ...counted }) : v.looseObject({ ...named, ...counted });
  return [...recorded, total];
}

/**
 * One security event as `events` answers it: the time and name, then the event's own fields from
 * the catalogue (`security-events.ts`). Loose, since fields may be added.
 */
export const securityEventSchema = v.intersect([
  v.looseObject({
    time: v.pipe(v.string(), v.isoTimestamp()),
    event: v.picklist(SECURITY_EVENT_NAMES),
  }),
  v.union(SECURITY_EVENT_NAMES.flatMap((event) => lines(event).map((line) => v.pipe(line, v.description(`${event}: ${eventEntry(event).description}`))))),
]);

export type SecurityEvent = v.InferOutput<typeof securityEventSchema>;

/** Named once in the JSON Schema: the catalogue's recurring parts, and the peer. */
export const SECURITY_EVENT_DEFINITIONS = { ...EVENT_DEFINITIONS, peer: who.peer.wrapped };
