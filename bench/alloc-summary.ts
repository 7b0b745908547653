// Where a sampled heap profile (bench/layers.ts --alloc-profile) allocated,
// by function, self and inclusive:
//   node --import tsx bench/alloc-summary.ts FILE.heapprofile [N] [FILTER-REGEX]
import { readFileSync } from 'node:fs';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const [file, top = '30', filter] = process.argv.slice(2);
if (!file) throw new Error('usage: alloc-summary.ts FILE.heapprofile [N] [FILTER]');
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;

function keyOf({ callFrame: f }: HeapNode): string {
  return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}`.trim();
}

function walk(node: HeapNode, above: ReadonlySet<string>): void {
  const key = keyOf(node);
  const stack = new Set(above).add(key);
  self.set(key, (self.get(key) ?? 0) + node.selfSize);
  for (const k of stack) inclusive.set(k, (inclusive.get(k) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const child of node.children) walk(child, stack);
}
walk(head, new Set());

const pattern = filter ? new RegExp(filter) : undefined;
for (const [title, sizes] of [
  ['self', self],
  ['inclusive', inclusive],
] as const) {
  console.log(`${title} (share of ${(total / 1e6).toFixed(1)} MB sampled)`);
  [...sizes]
    .filter(([k]) => !pattern || pattern.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(top))
    .forEach(([k, v]) => {
      console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
    });
}
