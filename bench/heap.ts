// Heap bytes per call, from windows of a few calls each run on a collected heap.
import v8 from 'node:v8';
import { median } from './stats.js';

/**
 * The median, over `windows` windows, of the used heap's growth per call
 * while a window's calls ran from a collected heap; a window during which a
 * GC ran is dropped (its growth would be short); `windows` is how many counted. `inputs(w)` makes window w's
 * inputs before the collection, so making them is not counted. Needs
 * --expose-gc to collect.
 */
export function bytesPerCall<T>(
  inputs: (window: number) => readonly T[],
  call: (input: T) => unknown,
  windows = 40,
): { bytes: number; windows: number } {
  const perCall: number[] = [];
  for (let w = 0; w < windows; w++) {
    const batch = inputs(w);
    globalThis.gc?.();
    const profiler = new v8.GCProfiler();
    profiler.start();
    const h0 = v8.getHeapStatistics().used_heap_size;
    for (const input of batch) call(input);
    const h1 = v8.getHeapStatistics().used_heap_size;
    if ((profiler.stop()?.statistics.length ?? 1) === 0) perCall.push((h1 - h0) / batch.length);
  }
  return { bytes: median(perCall), windows: perCall.length };
}
