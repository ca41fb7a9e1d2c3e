// A token bucket on values: refilled at `perSecond` up to `perSecond`, with the time passed in.

export interface Bucket {
  readonly tokens: number;
  readonly at: number;
}

export function fullBucket(perSecond: number, at: number): Bucket {
  return { tokens: perSecond, at };
}

/** The bucket refilled up to `at` (monotonic milliseconds). */
export function refill(bucket: Bucket, perSecond: number, at: number): Bucket {
  const tokens = Math.min(perSecond, bucket.tokens + (Math.max(0, at - bucket.at) * perSecond) / 1000);
  return { tokens, at };
}

/** The bucket after spending `cost`; it may go below zero (a debt that later work waits out). */
export function spend(bucket: Bucket, cost: number): Bucket {
  return { tokens: bucket.tokens - cost, at: bucket.at };
}
