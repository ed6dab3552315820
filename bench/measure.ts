export interface Sample {
  median: number;
  p95: number;
}

/** Runs `fn` in rounds of `batch` calls (after a warm-up) and returns per-call times in microseconds. */
export function measure(fn: () => void, { rounds = 200, batch = 1, warmup = 20 } = {}): Sample {
  for (let i = 0; i < warmup * batch; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]! };
}

/** `measure` for an asynchronous `fn` (each call awaited before the next). */
export async function measureAsync(fn: () => Promise<unknown>, { rounds = 200, batch = 1, warmup = 20 } = {}): Promise<Sample> {
  for (let i = 0; i < warmup * batch; i++) await fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]! };
}
