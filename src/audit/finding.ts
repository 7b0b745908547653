// One line of audit's report, shared by the analyzer findings and the advisories.
import type { Severity } from '../sidecar/violation.js';

export interface AuditFinding {
  /**
   * Istio analyzer code where one applies (IST0110, IST0111, IST0101,
   * IST0167, IST0002), else Kiali's (KIA1004, KIA1006, KIA1007), else null.
   */
  code: string | null;
  rule: string;
  severity: Severity;
  kind: 'Sidecar';
  namespace: string;
  name: string;
  message: string;
  /**
   * Set on a finding that stands for others not made one by one (a Sidecar
   * overlapping thousands of others): how many, of which rules. The report
   * prints it as "… and N more like this" and the summary counts them.
   */
  omitted?: Readonly<Record<string, number>>;
}
