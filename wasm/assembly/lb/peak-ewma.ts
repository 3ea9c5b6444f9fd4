/**
 * Peak EWMA latency: APISIX ewma.lua's decay (w = exp(−Δt/τ); reads decay toward 0) and P2C
 * over two distinct nodes, plus Finagle's peak (a higher sample replaces the value at once) and
 * load factor (cost = ewma × (active + 1)). Weights ignored. Port of wasm/reference/peak-ewma.ts.
 */
import { record } from "./generation";
import { randomBelow } from "./random";
import { R_ACTIVE, R_EWMA, R_EWMA_STAMP } from "./records";

/** The record's EWMA decayed to nowMs, ms. Example: 100 ms stored 10 s ago, τ 10 s → 36.79. */
function decayedEwma(r: usize, nowMs: f64, decayMs: f64): f64 {
  const dt = Math.max(nowMs - load<f64>(r + R_EWMA_STAMP), 0);
  return load<f64>(r + R_EWMA) * Math.exp(-dt / decayMs);
}

/** Folds a latency sample (ms) into record `r` at nowMs: a peak replaces, else decay-weighted. */
export function observeLatency(r: usize, latencyMs: f64, nowMs: f64, decayMs: f64): void {
  const ewma = load<f64>(r + R_EWMA);
  if (latencyMs > ewma) {
    store<f64>(r + R_EWMA, latencyMs);
  } else {
    const w = Math.exp(-Math.max(nowMs - load<f64>(r + R_EWMA_STAMP), 0) / decayMs);
    store<f64>(r + R_EWMA, ewma * w + latencyMs * (1 - w));
  }
  store<f64>(r + R_EWMA_STAMP, nowMs);
}

function cost(i: u32, nowMs: f64, decayMs: f64): f64 {
  const r = record(i);
  return decayedEwma(r, nowMs, decayMs) * (<f64>load<u32>(r + R_ACTIVE) + 1);
}

/** P2C over two distinct of the first `n` nodes at `nodes` (u32), lower cost wins (first drawn on ties). O(1). @returns instance index or −1. */
export function pickPeakEwma(nodes: usize, n: u32, nowMs: f64, decayMs: f64): i32 {
  if (n == 0) return -1;
  if (n == 1) return <i32>load<u32>(nodes);
  const a = <u32>randomBelow(<f64>n);
  let b = <u32>randomBelow(<f64>(n - 1));
  if (b >= a) b++;
  const ia = load<u32>(nodes + (<usize>a << 2));
  const ib = load<u32>(nodes + (<usize>b << 2));
  return cost(ib, nowMs, decayMs) < cost(ia, nowMs, decayMs) ? <i32>ib : <i32>ia;
}
