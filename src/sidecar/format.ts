// How findings read in kubectl's output. A denial names the object, then one
// line per error: field path, the rule's message (Istio's text unchanged),
// the rule id, and how to fix it.
//
// Both the denial and the warnings are bounded whatever the number of
// findings (issue 14): the denial fits on one screen, and the warnings stay
// within what kube-apiserver passes on unchanged.
import { describeRef, type ObjectRef } from './object.js';
import { RULES } from './rules/catalog.js';
import { capFindings, findingCount, formatCount, summaryOf, type FindingLimits, type Violation } from './violation.js';

/** Findings a denial (and the warnings) list: at most 10, 5 of one rule, each followed by its "… and N more like this". */
export const DENIAL_LIMITS: FindingLimits = Object.freeze({ perRule: 5, perObject: 10 });
/**
 * The lines of a denial stop before this many characters (about a screen);
 * the findings past it are counted in its last line. A line is at most a
 * path of PATH_CHARS, a message of MESSAGE_CHARS and the rule's fix.
 */
export const DENIAL_CHARS = 4_000;
/**
 * kube-apiserver's warning recorder (k8s.io/apiserver
 * pkg/endpoints/filters/warning.go, v0.35): once the warnings of one request
 * exceed 4 * 1024 runes in all, it cuts each to 256 runes and drops the rest.
 * Warnings are kept within that budget here, so it passes them unchanged and
 * the line saying how many were left out is not the one dropped.
 */
export const WARNING_TOTAL_RUNES = 4 * 1024;
export const WARNING_ITEM_RUNES = 256;
/**
 * Messages and paths are cut beyond these in every output (Istio's longest
 * message in the conformance run is 292 characters; only a map key makes a
 * path long), so that a summary line keeps its count within 256 runes.
 */
export const MESSAGE_CHARS = 1024;
export const PATH_CHARS = 160;
/**
 * The name and namespace a denial begins with are cut beyond these, kube-apiserver's own limits (DNS-1123
 * subdomain and label): a valid one is shown whole, and an invalid one of MiBs is not echoed back.
 */
const NAME_CHARS = 253;
const NAMESPACE_CHARS = 63;

export function formatFinding(v: Violation): string {
  const where = v.path ? `${clip(v.path, PATH_CHARS)}: ` : '';
  const fix = v.hint && !v.omitted ? ` Fix: ${v.hint}` : '';
  return `${where}${v.message} [${v.rule}]${fix}`;
}

export function formatDenial(ref: ObjectRef, errors: readonly Violation[]): string {
  const subject = escapeControls(
    describeRef({ namespace: clip(ref.namespace, NAMESPACE_CHARS), name: clip(ref.name, NAME_CHARS) }),
  );
  const total = findingCount(errors);
  const shown = capFindings(errors, DENIAL_LIMITS);
  // A fix may name what it is about (a field's key, the object), so it is cut like the message. Istio's texts
  // quote the object's own strings (a port name, a bind): kubectl prints the denial as it comes, so an escape
  // sequence or a newline there would redraw the terminal or forge a line. Each finding's line is escaped; the
  // newlines between findings are the message's own.
  const line = (v: Violation) =>
    escapeControls(
      formatFinding({ ...v, message: clip(v.message, MESSAGE_CHARS), hint: v.hint && clip(v.hint, MESSAGE_CHARS) }),
    );
  if (total === 1 && shown.length === 1) return `${subject} is invalid: ${line(shown[0]!)}`;
  const lines: string[] = [];
  let used = 0;
  // The cap of one rule's findings (DENIAL_LIMITS) is applied before lines repeated in a row are joined, so it
  // may leave one report of a pair shown and count the other among "… and N more like this": the counts still
  // add up to the first line's, which stays Istio's.
  for (const { text, at } of repeatedRuns(shown.map((v) => `- ${line(v)}`))) {
    if (used + text.length > DENIAL_CHARS) {
      const rest = summaryOf(shown.slice(at), 'error');
      if (rest) lines.push(`- ${formatFinding(rest)}`);
      break;
    }
    lines.push(text);
    used += text.length + 1;
  }
  return `${subject} is invalid (${formatCount(total)} errors):\n${lines.join('\n')}`;
}

/**
 * Lines repeated in a row as one, ending in how often it came, each with the
 * index of its first: Istio reports some findings twice in a row (H5 for a
 * host, once from each check that fails on it), and a person reads the line
 * once. The denial and `check`'s text output both join them.
 */
export function repeatedRuns(texts: readonly string[]): { text: string; at: number }[] {
  const runs: { text: string; at: number }[] = [];
  for (let at = 0; at < texts.length; ) {
    let times = 1;
    while (texts[at + times] === texts[at]) times++;
    runs.push({ text: times > 1 ? `${texts[at]} (reported ${times} times)` : texts[at]!, at });
    at += times;
  }
  return runs;
}

/**
 * `format(v)` within `max` (as `measure` counts): the message is cut rather
 * than the whole line, so the field, the rule id and why a grandfathered
 * error passed stay readable.
 */
function fitted(
  v: Violation,
  format: (v: Violation) => string,
  max: number,
  measure: (t: string) => number,
  cut: (t: string, max: number) => string,
): string {
  const full = format(v);
  if (measure(full) <= max) return full;
  const room = max - measure(format({ ...v, message: '' }));
  return room >= MIN_MESSAGE_ROOM ? format({ ...v, message: cut(v.message, room) }) : cut(full, max);
}

/** Below this much room for the message, the whole line is cut instead (its path alone is that long). */
const MIN_MESSAGE_ROOM = 40;

/**
 * Warnings travel as admission warnings, which kubectl prints one per line.
 * Istio's own warnings keep Istio's text unchanged; ours already name the
 * object and end with their fix. A grandfathered error names its field and
 * rule, why it passed, and its fix.
 */
export function formatWarning(v: Violation): string {
  if (v.omitted) return `${pathPrefix(v)}${v.message} [${v.rule}]`;
  if (v.allowedBecause) return `${pathPrefix(v)}${v.message} [${v.rule}] (allowed: ${v.allowedBecause})${fixOf(v)}`;
  return Object.hasOwn(RULES, v.rule) ? v.message : `${v.message}${fixOf(v)}`;
}

/** A warning is read at the moment of an apply, as a denial is: it says what to change, where it knows how. */
const fixOf = (v: Violation): string => (v.hint ? ` Fix: ${clip(v.hint, MESSAGE_CHARS)}` : '');

/** `path: `, or nothing for a finding about the whole object (object.size, schema.cel), which has no path. */
function pathPrefix(v: Violation): string {
  return v.path ? `${clip(v.path, PATH_CHARS)}: ` : '';
}

/**
 * The warnings of one answer: each distinct text once (kube-apiserver drops
 * repeats, so a repeat counts as one more like it), DENIAL_LIMITS of them,
 * control characters escaped (kube-apiserver drops a warning holding one),
 * within kube-apiserver's rune budget.
 */
export function formatWarnings(warnings: readonly Violation[]): string[] {
  const seen = new Set<string>();
  const distinct = warnings.map((v): Violation => {
    if (v.omitted) return v;
    const text = formatWarning(v);
    if (!seen.has(text)) {
      seen.add(text);
      return v;
    }
    return { rule: v.rule, severity: v.severity, path: v.path, message: '', omitted: { [v.rule]: 1 } };
  });
  const shown = capFindings(distinct, DENIAL_LIMITS).map(withControlsEscaped);
  return withinWarningBudget(shown);
}

/** `v` with control characters escaped in its path and message; `v` itself when it has none (nearly always). */
function withControlsEscaped(v: Violation): Violation {
  const path = escapeControls(v.path);
  const message = escapeControls(v.message);
  return path === v.path && message === v.message ? v : { ...v, path, message };
}

function withinWarningBudget(warnings: readonly Violation[]): string[] {
  const texts = warnings.map(formatWarning);
  let total = 0;
  for (const text of texts) total += runesUpTo(text, WARNING_TOTAL_RUNES + 1);
  if (total <= WARNING_TOTAL_RUNES) return texts;
  // Over the budget: cut each as kube-apiserver would, and keep room for the last line.
  const room = WARNING_TOTAL_RUNES - WARNING_ITEM_RUNES;
  const out: string[] = [];
  let used = 0;
  let left = 0;
  const seen = new Set<string>();
  for (const v of warnings) {
    // Fixes go first: what is wrong, and where, matters more than how to mend it once space is short.
    const text = fitted(
      { ...v, hint: undefined },
      formatWarning,
      WARNING_ITEM_RUNES,
      (t) => runesUpTo(t, WARNING_ITEM_RUNES + 1),
      clipRunes,
    );
    const runes = runesUpTo(text, WARNING_ITEM_RUNES);
    // Two texts cut to the same runes would be one warning to kube-apiserver.
    if (left === 0 && used + runes <= room && !seen.has(text)) {
      out.push(text);
      seen.add(text);
      used += runes;
    } else {
      left += findingCount([v]);
    }
  }
  if (left > 0)
    out.push(
      `… and ${formatCount(left)} more warnings: kube-apiserver passes on at most ${formatCount(WARNING_TOTAL_RUNES)} characters of warnings`,
    );
  return out;
}

/** `text` cut to at most `max` UTF-16 units, ending in "…" when cut, never inside a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}…`;
}

/** `text` cut to at most `max` runes (code points), ending in "…" when cut. */
function clipRunes(text: string, max: number): string {
  if (runesUpTo(text, max + 1) <= max) return text;
  let runes = 0;
  let i = 0;
  while (i < text.length && runes < max - 1) {
    i += isHighSurrogate(text.charCodeAt(i)) && i + 1 < text.length ? 2 : 1;
    runes++;
  }
  return `${text.slice(0, i)}…`;
}

/** The number of runes in `text`, counting no further than `limit`. */
function runesUpTo(text: string, limit: number): number {
  if (text.length <= limit) {
    let surrogatePairs = 0;
    for (let i = 0; i < text.length - 1; i++)
      if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) surrogatePairs++;
    return text.length - surrogatePairs;
  }
  let runes = 0;
  for (let i = 0; i < text.length && runes < limit; runes++)
    i += isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
  return runes;
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Go's unicode.IsControl (C0, DEL, C1), which kube-apiserver refuses in a warning, written as \u escapes. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARACTERS, unicodeEscape);
}

// One regex and one replacer for every call (a regex literal in the function would be a new object per call).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for (Go's unicode.IsControl)
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
