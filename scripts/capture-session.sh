#!/usr/bin/env bash
# Replays the README's kubectl session (examples/session/) against the e2e
# environment started by `npm run e2e:up` and prints it as the README shows it,
# so the README's transcript is captured, not typed. Run from the repository root:
#   npm run e2e:up && bash scripts/capture-session.sh && npm run e2e:down
set -uo pipefail
cd "$(dirname "$0")/.."
export KUBECONFIG=${KUBECONFIG:-$PWD/.e2e/kubeconfig}
KUBECTL=${KUBECTL:-$PWD/test/cluster/bin/kubectl}
[ -f "$KUBECONFIG" ] || { echo "capture-session: no $KUBECONFIG; run npm run e2e:up first" >&2; exit 2; }
cd examples/session
run() {
  echo "\$ kubectl $*"
  "$KUBECTL" "$@" 2>&1
}
# The session's namespaces must not exist yet: the transcript starts from an empty cluster.
"$KUBECTL" delete namespace shop billing istio-system --ignore-not-found --wait=true >/dev/null 2>&1
echo '```console'
run version
run create namespace istio-system
run create namespace shop
run apply -f app.yaml
run apply -f default.yaml
run apply -f reviews-bad.yaml
run apply -f reviews.yaml
run apply --dry-run=server -f reviews-v2.yaml
run create namespace billing
run label namespace billing sidecar-guard.io/default-sidecar=enabled
# The namespace-defaults controller writes billing/default from its watch: wait for it (an external process).
"$KUBECTL" wait --for=create sidecar/default -n billing --timeout=30s >/dev/null 2>&1
run get sidecars -A
echo '```'
