#!/usr/bin/env bash
# Builds the real helm CLI the chart tests run (test/helm/), from the pinned
# Go module in test/helm/tool/ (helm.sh/helm/v3), into test/helm/bin/helm
# (git-ignored). A stamp (a hash of go.mod, go.sum, tools.go, the build flags
# and the Go version) makes a second run a no-op until the pin changes. Only
# Go modules are downloaded, through the Go module proxy.
#
#   scripts/build-helm.sh          build when missing or out of date
#   scripts/build-helm.sh --force  rebuild
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=test/helm/tool
BIN=$PWD/test/helm/bin
FORCE=${1:-}

if ! command -v go >/dev/null 2>&1; then
  echo "build-helm: the Go toolchain is required to build helm (go not found on PATH)" >&2
  exit 1
fi
export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0

HELM_VERSION=$(sed -n 's/^require helm.sh\/helm\/v3 \(v[0-9.]*\)$/\1/p' "$DIR/go.mod")
if [ -z "$HELM_VERSION" ]; then
  echo "build-helm: could not read the pinned helm version from $DIR/go.mod" >&2
  exit 1
fi
# The flags helm's own Makefile sets for a release build: its version, and the
# Kubernetes version `helm lint`/`template` assume (from the client-go it links,
# v0.X.Y → 1.X, as the Makefile derives it).
CLIENT_GO=$(cd "$DIR" && go list -m -f '{{.Version}}' k8s.io/client-go)
K8S_MINOR=$(echo "$CLIENT_GO" | cut -d. -f2)
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=archive"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  LDFLAGS+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
done

stamp=$(cat "$DIR/go.mod" "$DIR/go.sum" "$DIR/tools.go" <(echo "$LDFLAGS") <(go version) | sha256sum | cut -d' ' -f1)
if [ "$FORCE" != --force ] && [ -x "$BIN/helm" ] && [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
mkdir -p "$BIN"
rm -f "$BIN/.stamp"
started=$SECONDS
echo "build-helm: building helm $HELM_VERSION from helm.sh/helm/v3/cmd/helm (the first build downloads modules and compiles for minutes)"
(cd "$DIR" && go build -trimpath -ldflags "$LDFLAGS" -o "$BIN/helm.tmp" helm.sh/helm/v3/cmd/helm)
mv "$BIN/helm.tmp" "$BIN/helm"
echo "$stamp" >"$BIN/.stamp"
echo "build-helm: built in $((SECONDS - started)) s: $(du -h "$BIN/helm" | cut -f1)"
