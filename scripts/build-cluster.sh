#!/usr/bin/env bash
# Builds the real cluster components the end-to-end suite runs against, from
# the pinned Go modules in test/cluster/:
#   test/cluster/kube  → kube-apiserver and kubectl (k8s.io/kubernetes)
#   test/cluster/etcd  → etcd (go.etcd.io/etcd/server/v3, the version that
#                        Kubernetes release's hack/lib/etcd.sh tests with)
# into test/cluster/bin/ (git-ignored). A stamp per module (a hash of its
# go.mod, go.sum and tools.go, the build flags and the Go version) makes a
# second run a no-op until a pin changes. Only Go modules are downloaded,
# through the Go module proxy.
#
#   scripts/build-cluster.sh          build what is missing or out of date
#   scripts/build-cluster.sh --force  rebuild everything
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/test/cluster/bin
FORCE=${1:-}

if ! command -v go >/dev/null 2>&1; then
  echo "build-cluster: the Go toolchain is required to build kube-apiserver, etcd and kubectl (go not found on PATH)" >&2
  exit 1
fi

# The versions the binaries report, as Kubernetes' hack/lib/version.sh sets
# them (no git checkout here, so no commit; the build date is the release's
# date in the module proxy, so the build is reproducible).
KUBE_VERSION=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' test/cluster/kube/go.mod)
ETCD_VERSION=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' test/cluster/etcd/go.mod)
if [ -z "$KUBE_VERSION" ] || [ -z "$ETCD_VERSION" ]; then
  echo "build-cluster: could not read the pinned versions from test/cluster/*/go.mod" >&2
  exit 1
fi
KUBE_MAJOR=${KUBE_VERSION#v}; KUBE_MAJOR=${KUBE_MAJOR%%.*}
KUBE_MINOR=${KUBE_VERSION#v*.}; KUBE_MINOR=${KUBE_MINOR%%.*}
KUBE_DATE=$(cd test/cluster/kube && GOWORK=off go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
kube_ldflags() {
  local flags=(-s -w)
  local key val
  for kv in "gitVersion=$KUBE_VERSION" "gitMajor=$KUBE_MAJOR" "gitMinor=$KUBE_MINOR" "buildDate=$KUBE_DATE" "gitCommit=" "gitTreeState=archive"; do
    key=${kv%%=*}; val=${kv#*=}
    flags+=("-X" "k8s.io/client-go/pkg/version.$key=$val" "-X" "k8s.io/component-base/version.$key=$val")
  done
  echo "${flags[*]}"
}
KUBE_LDFLAGS=$(kube_ldflags)
ETCD_LDFLAGS="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ETCD_VERSION"

export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0

# build MODULE_DIR "LDFLAGS" OUTPUT=PACKAGE...
build() {
  local dir=$1 ldflags=$2; shift 2
  local stamp_file=$BIN/.stamp-$(basename "$dir")
  local stamp
  stamp=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/tools.go" <(echo "$ldflags") <(go version) | sha256sum | cut -d' ' -f1)
  local missing=0
  for target in "$@"; do [ -x "$BIN/${target%%=*}" ] || missing=1; done
  if [ "$FORCE" != --force ] && [ "$missing" = 0 ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
    return 0
  fi
  mkdir -p "$BIN"
  rm -f "$stamp_file"
  local started=$SECONDS
  for target in "$@"; do
    local out=${target%%=*} pkg=${target#*=}
    echo "build-cluster: building $out from $pkg ($(basename "$dir") module; the first build downloads modules and compiles for minutes)"
    (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$BIN/$out.tmp" "$pkg")
    mv "$BIN/$out.tmp" "$BIN/$out"
  done
  echo "$stamp" >"$stamp_file"
  echo "build-cluster: $(basename "$dir") built in $((SECONDS - started)) s: $(cd "$BIN" && for t in "$@"; do du -h "${t%%=*}" | tr '\t' ' '; done | paste -sd, -)"
}

build test/cluster/etcd "$ETCD_LDFLAGS" etcd=go.etcd.io/etcd/server/v3
build test/cluster/kube "$KUBE_LDFLAGS" kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver kubectl=k8s.io/kubernetes/cmd/kubectl
