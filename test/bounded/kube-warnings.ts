// What kube-apiserver does with the warnings a webhook returns, for the tests
// that check ours pass through it unchanged.

/** Go's unicode.IsControl: C0, DEL and C1 (what NewWarningHeader refuses). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * kube-apiserver's warning recorder (k8s.io/apiserver
 * pkg/endpoints/filters/warning.go, AddWarning, v0.35.4 and v0.36.1 alike):
 * drops empty and repeated texts; once the texts exceed 4 * 1024 runes in
 * all it cuts every text to 256 runes, and once past the budget while cutting
 * it drops the rest. (Texts with control characters fail NewWarningHeader
 * and are dropped too.) What kubectl shows of a list of warnings.
 */
export function kubeApiserverWarnings(texts: readonly string[]): string[] {
  const runes = (s: string) => [...s].length;
  const cut = (s: string) => [...s].slice(0, 256).join('');
  const recorded = new Set<string>();
  const ordered: string[] = [];
  let shown: string[] = [];
  let written = 0;
  let truncating = false;
  for (const text of texts) {
    if (text.length === 0) continue;
    if (written >= 4096 && truncating) break;
    if (recorded.has(text)) continue;
    recorded.add(text);
    ordered.push(text);
    if (CONTROL_CHARACTER.test(text)) continue;
    const t = truncating ? cut(text) : text;
    if (written + runes(t) <= 4096 || truncating) {
      written += runes(t);
      shown.push(t);
      continue;
    }
    truncating = true;
    written = 0;
    shown = [];
    for (const old of ordered) {
      if (CONTROL_CHARACTER.test(old)) continue;
      const c = cut(old);
      written += runes(c);
      shown.push(c);
    }
  }
  return shown;
}
