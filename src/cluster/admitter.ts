// review() plus the memory a single replica needs to stay consistent
// between admitting an object and its informer delivering it.
import type { Decision } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/types.js';
import { sidecarInfoOf } from '../sidecar/records.js';
import type { Reservations } from './reservations.js';
import type { ClusterView } from '../sidecar/view.js';
import { isSidecarRequest, review, type ReviewOptions } from '../sidecar/review.js';

export class Admitter {
  constructor(
    private readonly view: ClusterView,
    private readonly reservations: Reservations,
    private readonly options: ReviewOptions,
  ) {}

  validate(request: AdmissionRequest): Decision {
    const decision = review(request, { view: this.reservations.overlay(this.view), options: this.options });
    if (decision.allowed && this.reserves(request)) {
      const info = sidecarInfoOf(request.object, request.namespace ?? 'default');
      if (info) this.reservations.reserve(info);
    }
    return decision;
  }

  /** Dry runs decide the same way but must leave no trace. */
  private reserves(request: AdmissionRequest): boolean {
    return (
      request.dryRun !== true &&
      isSidecarRequest(request) &&
      (request.operation === 'CREATE' || request.operation === 'UPDATE')
    );
  }
}
