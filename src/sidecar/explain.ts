// The text of `sidecar-guard explain ID`: one rule of the registry with its
// examples (rule-examples.ts), laid out for a terminal.
import { noExampleReason, RULE_EXAMPLES } from './rule-examples.js';
import type { RuleEntry } from './rule-registry.js';

const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l === '' ? '' : `    ${l}`))
    .join('\n');

export function explainText(rule: RuleEntry): string {
  const lines = [`${rule.id} (${rule.severity}): ${rule.title}`, '', `Why:   ${rule.source}`, `Fix:   ${rule.help}`];
  if (rule.code) lines.push(`Code:  ${rule.code}, as \`sidecar-guard audit\` reports it`);
  if (rule.note) lines.push(`Note:  ${rule.note}`);
  const example = RULE_EXAMPLES[rule.id];
  if (example) {
    lines.push(
      '',
      `Invalid (sidecar-guard check reports ${rule.id}):`,
      indent(example.invalid),
      '',
      'Fixed:',
      indent(example.fixed),
    );
  } else {
    lines.push('', `Example: ${noExampleReason(rule.id, rule.note) ?? 'none'}`);
  }
  return `${lines.join('\n')}\n`;
}
