/**
 * The TypeScript reference for load balancing and fault tolerance: pure functions of their
 * inputs, time (`nowMs`) and an injected random source; no I/O, no clock, no Math.random. The
 * WASM port (wasm/assembly/lb/) follows this design and runs the same conformance tables
 * (test/conformance/*.cases.ts). Design: docs/balancing.md. This file only re-exports.
 */
export * from "./balancers.ts";
export * from "./bucket.ts";
export * from "./group-breaker.ts";
export * from "./group-runtime.ts";
export * from "./hash-key.ts";
export * from "./instance-breaker.ts";
export * from "./instance-state.ts";
export * from "./least-request.ts";
export * from "./maglev.ts";
export * from "./outlier.ts";
export * from "./peak-ewma.ts";
export * from "./random.ts";
export * from "./retry.ts";
export * from "./ring-hash.ts";
export * from "./route-rules.ts";
export * from "./select.ts";
export * from "./swrr.ts";
export * from "./types.ts";
export * from "./warmup.ts";
export * from "./weighted-random.ts";
export * from "./xxhash64.ts";
