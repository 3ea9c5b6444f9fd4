/**
 * Retry decisions: what is retried (per route retryOn, idempotency), how often (numRetries),
 * how many at once (budget: 20 % of active requests, at least 3), how long to wait (full
 * jitter in [0, (2^N − 1) · 25 ms), capped at 250 ms) and not past the total timeout.
 */
import type { CaseOutcome } from "./selection.cases.ts";

export type CaseRetryOn = "connect-failure" | "reset" | "timeout" | "gateway-error" | "5xx";

export interface CaseRetryPolicy {
  retryOn?: CaseRetryOn[];
  numRetries?: number;
  retryNonIdempotent?: boolean;
  timeoutMs?: number;
}

export type CaseRetryDecision =
  | { retry: true }
  | { retry: false; reason: "no-failure" | "not-retriable" | "non-idempotent" | "exhausted" | "budget" | "deadline" };

export interface RetryAdapter {
  /** Decision (delay left out) after attempt `retriesDone + 1` of a request started at 0 ended at `nowMs`. */
  decide(
    input: { outcome: CaseOutcome; method: string; retriesDone: number; nowMs: number },
    policy: CaseRetryPolicy,
    group: { active: number; pending: number; activeRetries: number },
    seed: number,
  ): CaseRetryDecision;
  /** Retries allowed in flight for a group with these counts (default budget). */
  budget(active: number, pending: number): number;
  /** `draws` back-off delays (ms) before retry number `retry`, from one seeded source. */
  backoffs(retry: number, draws: number, seed: number): number[];
}

export interface RetryDecisionCase {
  name: string;
  outcome: CaseOutcome;
  method?: string;
  retriesDone?: number;
  nowMs?: number;
  policy?: CaseRetryPolicy;
  group?: { active: number; pending: number; activeRetries: number };
  want: CaseRetryDecision;
}

const FIVE_XX: CaseRetryPolicy = { retryOn: ["5xx"] };

export const RETRY_DECISION_CASES: RetryDecisionCase[] = [
  { name: "connect failure, default policy: retry", outcome: "connect", want: { retry: true } },
  { name: "a 200 is not retried", outcome: 200, want: { retry: false, reason: "no-failure" } },
  { name: "a 404 is not retried", outcome: 404, policy: FIVE_XX, want: { retry: false, reason: "no-failure" } },
  { name: "503, default policy (connect failures only)", outcome: 503, want: { retry: false, reason: "not-retriable" } },
  { name: "503 with retryOn 5xx", outcome: 503, policy: FIVE_XX, want: { retry: true } },
  { name: "reset with retryOn 5xx", outcome: "reset", policy: FIVE_XX, want: { retry: true } },
  { name: "timeout with retryOn 5xx", outcome: "timeout", policy: FIVE_XX, want: { retry: true } },
  {
    name: "500 with retryOn gateway-error",
    outcome: 500,
    policy: { retryOn: ["gateway-error"] },
    want: { retry: false, reason: "not-retriable" },
  },
  { name: "502 with retryOn gateway-error", outcome: 502, policy: { retryOn: ["gateway-error"] }, want: { retry: true } },
  { name: "timeout with retryOn gateway-error", outcome: "timeout", policy: { retryOn: ["gateway-error"] }, want: { retry: true } },
  // Envoy retries resets under gateway-error too (RetryStateImpl::wouldRetryFromReset).
  { name: "reset with retryOn gateway-error", outcome: "reset", policy: { retryOn: ["gateway-error"] }, want: { retry: true } },
  { name: "timeout with retryOn timeout", outcome: "timeout", policy: { retryOn: ["timeout"] }, want: { retry: true } },
  { name: "reset with retryOn connect-failure", outcome: "reset", want: { retry: false, reason: "not-retriable" } },
  {
    name: "POST 503: not idempotent, not re-sent",
    outcome: 503,
    method: "POST",
    policy: FIVE_XX,
    want: { retry: false, reason: "non-idempotent" },
  },
  {
    name: "POST reset: may have reached the upstream, not re-sent",
    outcome: "reset",
    method: "POST",
    policy: FIVE_XX,
    want: { retry: false, reason: "non-idempotent" },
  },
  { name: "POST connect failure: nothing was sent, retry", outcome: "connect", method: "POST", want: { retry: true } },
  {
    name: "PATCH 503 when the route allows non-idempotent retries",
    outcome: 503,
    method: "PATCH",
    policy: { retryOn: ["5xx"], retryNonIdempotent: true },
    want: { retry: true },
  },
  { name: "PUT and DELETE are idempotent", outcome: 503, method: "DELETE", policy: FIVE_XX, want: { retry: true } },
  {
    name: "one retry by default: the second failure is final",
    outcome: "connect",
    retriesDone: 1,
    want: { retry: false, reason: "exhausted" },
  },
  { name: "numRetries 3: a third retry", outcome: "connect", retriesDone: 2, policy: { numRetries: 3 }, want: { retry: true } },
  {
    name: "budget: 10 active → max(⌊2⌋, 3) = 3 retries in flight, a 4th is refused",
    outcome: "connect",
    group: { active: 10, pending: 0, activeRetries: 3 },
    want: { retry: false, reason: "budget" },
  },
  {
    name: "budget: 20 active → ⌊4⌋ = 4, the 4th is allowed",
    outcome: "connect",
    group: { active: 20, pending: 0, activeRetries: 3 },
    want: { retry: true },
  },
  {
    name: "budget counts pending requests too: 15 + 5 → 4",
    outcome: "connect",
    group: { active: 15, pending: 5, activeRetries: 3 },
    want: { retry: true },
  },
  { name: "no retry once the total timeout has passed", outcome: "connect", nowMs: 15_000, want: { retry: false, reason: "deadline" } },
  {
    name: "a short total timeout counts retries too",
    outcome: "connect",
    nowMs: 1_000,
    policy: { timeoutMs: 1_000 },
    want: { retry: false, reason: "deadline" },
  },
];

export const RETRY_BUDGET_CASES: { active: number; pending: number; want: number }[] = [
  { active: 0, pending: 0, want: 3 },
  { active: 14, pending: 0, want: 3 }, // ⌊2.8⌋ = 2 → min 3
  { active: 16, pending: 0, want: 3 }, // ⌊3.2⌋ = 3
  { active: 20, pending: 0, want: 4 },
  { active: 100, pending: 0, want: 20 },
  { active: 90, pending: 10, want: 20 },
  { active: 1_000, pending: 24, want: 204 }, // ⌊204.8⌋
];

export interface BackoffCase {
  retry: number;
  /** Exclusive upper bound before the cap: (2^N − 1) · 25, growing until it passes 250. */
  range: number;
}

export const BACKOFF_CASES: BackoffCase[] = [
  { retry: 1, range: 25 },
  { retry: 2, range: 75 },
  { retry: 3, range: 175 },
  { retry: 4, range: 375 },
  { retry: 5, range: 375 },
  { retry: 10, range: 375 },
];

/** Back-off statistics over `draws` delays: bounds, mean, share exactly at the 250 ms cap. */
export function runBackoff(
  adapter: RetryAdapter,
  c: BackoffCase,
  draws: number,
): { min: number; max: number; mean: number; capped: number; integers: boolean } {
  const delays = adapter.backoffs(c.retry, draws, c.retry);
  return {
    min: Math.min(...delays),
    max: Math.max(...delays),
    mean: delays.reduce((a, b) => a + b, 0) / draws,
    capped: delays.filter((d) => d === 250).length / draws,
    integers: delays.every(Number.isInteger),
  };
}

/** What the back-off statistics should be for a case (uniform integers in [0, range), then min(·, 250)). */
export function expectedBackoff(c: BackoffCase): { max: number; mean: number; capped: number } {
  const capped = c.range > 250 ? (c.range - 250) / c.range : 0;
  // Mean of min(U, 250) for U uniform on {0 … range − 1}.
  let sum = 0;
  for (let d = 0; d < c.range; d++) sum += Math.min(d, 250);
  return { max: Math.min(c.range - 1, 250), mean: sum / c.range, capped };
}
