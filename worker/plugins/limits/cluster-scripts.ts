/**
 * limit-count's `cluster` policy: one atomic Lua script per check on one Redis, so every gateway
 * process and host shares exact counts (Kong's cluster limits are reported approximate: these
 * are not). Time comes from Redis (PEXPIRE, TIME), never from the gateways' clocks.
 *
 * - fixed: INCR + PEXPIRE on the key's first request (APISIX limit-count-redis: the window starts
 *   at the key's first request and every request counts, rejected ones included) → count, pttl.
 * - sliding: exact, a sorted-set log of the allowed requests of the last window (ZREMRANGEBYSCORE
 *   the old ones, ZCARD, ZADD when under the limit). Exact at O(limit) memory per key — up to
 *   ~70 bytes per allowed request; a counter pair (the local estimate) would not be exact.
 */
import type { CountDecision } from "./fixed-window.ts";
import { type RedisClient, RedisScript, RedisUnavailableError } from "./redis-client.ts";

/** KEYS[1] counter; ARGV[1] window ms → {count, pttl ms}. */
export const FIXED_WINDOW_SCRIPT = new RedisScript(`local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`);

/**
 * KEYS[1] log; ARGV[1] window ms, ARGV[2] limit, ARGV[3] a member unique to this request →
 * {allowed 0|1, allowed requests in the window with this one, ms until the oldest leaves it}.
 */
export const SLIDING_WINDOW_SCRIPT = new RedisScript(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local allowed = 0
if n < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  n = n + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, n, reset}`);

/**
 * Counts one request of `key` in a fixed window shared through Redis.
 * @throws RedisUnavailableError (Redis down, slow, or a reply of the wrong shape)
 */
export async function countFixedCluster(redis: RedisClient, key: string, limit: number, windowMs: number): Promise<CountDecision> {
  const reply = await redis.evalScript(FIXED_WINDOW_SCRIPT, [key], [windowMs]);
  if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "number") throw shapeError(reply);
  const count = reply[0];
  return { allowed: count <= limit, remaining: Math.max(0, limit - count), resetMs: Math.max(1, reply[1]) };
}

/**
 * Counts one request of `key` in an exact sliding window shared through Redis.
 * @param member unique per request across all gateways (two requests with one member count once)
 * @throws RedisUnavailableError
 */
export async function countSlidingCluster(
  redis: RedisClient,
  key: string,
  limit: number,
  windowMs: number,
  member: string,
): Promise<CountDecision> {
  const reply = await redis.evalScript(SLIDING_WINDOW_SCRIPT, [key], [windowMs, limit, member]);
  if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((v) => typeof v === "number")) throw shapeError(reply);
  const [allowed, count, resetMs] = reply as number[];
  return { allowed: allowed === 1, remaining: Math.max(0, limit - count), resetMs: Math.max(1, resetMs) };
}

function shapeError(reply: unknown): RedisUnavailableError {
  return new RedisUnavailableError(`redis script answered ${JSON.stringify(reply)}`);
}
