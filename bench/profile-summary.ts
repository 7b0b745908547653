// Top functions of a V8 .cpuprofile (from node --cpu-prof), by self time or
// by inclusive time (time with the function anywhere on the stack):
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [N] [--inclusive]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  fn: string;
  ms: number;
  pct: number;
}

function keyOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const where = frame.url
    ? `${frame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`
    : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
}

export function summarizeProfile(profile: Profile, opts: { limit?: number; inclusive?: boolean } = {}): Row[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    if (!opts.inclusive) {
      const key = keyOf(byId.get(id)!);
      time.set(key, (time.get(key) ?? 0) + dt);
      return;
    }
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = keyOf(byId.get(at)!);
      if (seen.has(key)) continue;
      seen.add(key);
      time.set(key, (time.get(key) ?? 0) + dt);
    }
  });
  return [...time.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, opts.limit ?? 25)
    .map(([fn, ms]) => ({ fn, ms: Math.round(ms), pct: Math.round((1000 * ms) / total) / 10 }));
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const args = process.argv.slice(2);
  const inclusive = args.includes('--inclusive');
  const [file, n] = args.filter((a) => a !== '--inclusive');
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [N] [--inclusive]');
  for (const row of summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), { limit: Number(n ?? 25), inclusive })) {
    console.log(`${String(row.pct).padStart(5)}%  ${String(row.ms).padStart(6)} ms  ${row.fn}`);
  }
}
