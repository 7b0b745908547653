#!/usr/bin/env bash
# Builds what the chart tests (test/helm/, test/e2e/70-helm.test.ts) run, from
# pinned Go modules, into test/helm/bin/ (git-ignored):
#   test/helm/tool → helm (helm.sh/helm/v3, the real CLI)
#   test/helm/crds → controller-gen (sigs.k8s.io/controller-tools), which
#                    generates crds/monitoring.coreos.com_servicemonitors.yaml
#                    from prometheus-operator's API types, as prometheus-operator's
#                    own build does: the CRD the e2e dry run installs for the
#                    chart's optional ServiceMonitor
# A stamp per module (a hash of its go.mod, go.sum, tools.go, the build flags and
# the Go version) makes a second run a no-op until a pin changes. Only Go
# modules are downloaded, through the Go module proxy.
#
#   scripts/build-helm.sh          build what is missing or out of date
#   scripts/build-helm.sh --force  rebuild
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/test/helm/bin
FORCE=${1:-}

if ! command -v go >/dev/null 2>&1; then
  echo "build-helm: the Go toolchain is required to build helm (go not found on PATH)" >&2
  exit 1
fi
export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0

HELM_VERSION=$(sed -n 's/^require helm.sh\/helm\/v3 \(v[0-9.]*\)$/\1/p' test/helm/tool/go.mod)
if [ -z "$HELM_VERSION" ]; then
  echo "build-helm: could not read the pinned helm version from test/helm/tool/go.mod" >&2
  exit 1
fi
# The flags helm's own Makefile sets for a release build: its version, and the
# Kubernetes version `helm lint`/`template` assume (from the client-go it
# links, v0.X.Y → 1.X, as that Makefile derives it).
K8S_MINOR=$(cd test/helm/tool && go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=archive"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  HELM_LDFLAGS+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
done

# fresh MODULE_DIR "LDFLAGS" OUTPUT: true (and prints nothing) when OUTPUT is
# up to date with the module's stamp; otherwise clears the stamp.
stamp_of() { cat "$1/go.mod" "$1/go.sum" "$1/tools.go" <(echo "$2") <(go version) | sha256sum | cut -d' ' -f1; }
fresh() {
  local stamp_file=$BIN/.stamp-$(basename "$1")
  if [ "$FORCE" != --force ] && [ -e "$3" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$(stamp_of "$1" "$2")" ]; then return 0; fi
  mkdir -p "$BIN"
  rm -f "$stamp_file"
  return 1
}
stamp() { stamp_of "$1" "$2" >"$BIN/.stamp-$(basename "$1")"; }

if ! fresh test/helm/tool "$HELM_LDFLAGS" "$BIN/helm"; then
  started=$SECONDS
  echo "build-helm: building helm $HELM_VERSION from helm.sh/helm/v3/cmd/helm (the first build downloads modules and compiles for minutes)"
  (cd test/helm/tool && go build -trimpath -ldflags "$HELM_LDFLAGS" -o "$BIN/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$BIN/helm.tmp" "$BIN/helm"
  stamp test/helm/tool "$HELM_LDFLAGS"
  echo "build-helm: helm built in $((SECONDS - started)) s: $(du -h "$BIN/helm" | cut -f1)"
fi

CRD=$BIN/crds/monitoring.coreos.com_servicemonitors.yaml
if ! fresh test/helm/crds "-s -w" "$CRD"; then
  started=$SECONDS
  echo "build-helm: building controller-gen and generating the ServiceMonitor CRD from prometheus-operator's API types"
  (cd test/helm/crds && go build -trimpath -ldflags "-s -w" -o "$BIN/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen)
  rm -rf "$BIN/crds.tmp"
  (cd test/helm/crds && "$BIN/controller-gen" crd:crdVersions=v1 \
    paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 output:crd:dir="$BIN/crds.tmp")
  mkdir -p "$BIN/crds"
  mv "$BIN/crds.tmp/monitoring.coreos.com_servicemonitors.yaml" "$CRD"
  rm -rf "$BIN/crds.tmp"
  stamp test/helm/crds "-s -w"
  echo "build-helm: ServiceMonitor CRD generated in $((SECONDS - started)) s"
fi
