// The kubectl the test API server's tests run: $KUBECTL (make test passes the one built from k8s.io/kubernetes), else the one on PATH.
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';
