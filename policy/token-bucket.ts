// A token bucket on values: refilled at `perSecond` up to its capacity (by default `perSecond`), with the time passed in.

export interface Bucket {
  readonly tokens: number;
  readonly at: number;
}

export function fullBucket(capacity: number, at: number): Bucket {
  return { tokens: capacity, at };
}

/** The bucket refilled up to `at` (monotonic milliseconds), never beyond `capacity`. */
export function refill(bucket: Bucket, perSecond: number, at: number, capacity = perSecond): Bucket {
  const tokens = Math.min(capacity, bucket.tokens + (Math.max(0, at - bucket.at) * perSecond) / 1000);
  return { tokens, at };
}

/** The bucket after spending `cost`; it may go below zero (a debt that later work waits out). */
export function spend(bucket: Bucket, cost: number): Bucket {
  return { tokens: bucket.tokens - cost, at: bucket.at };
}
