// API errors, in a module of their own so that code which only needs to
// recognise them does not load @kubernetes/client-node (about 0.8 s and 80 MB).
/** A Kubernetes Status error, with its HTTP code and reason (NotFound, AlreadyExists, Conflict, Expired...). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isStatus = (err: unknown, ...reasons: string[]): boolean =>
  err instanceof KubeApiError && (reasons.includes(err.reason) || reasons.includes(String(err.status)));
