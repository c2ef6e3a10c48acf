#!/usr/bin/env bash
# Ensures the control-plane binaries used by the e2e suite exist and prints the
# directory that holds them as the last line of stdout.
#
#   binaries.sh           etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#   binaries.sh kubelet   kubelet alone, in a cache directory of its own
#                         (kubelet-<version>/), so adding the node never rebuilds the
#                         control plane's cache
#
# Order of preference:
#   1. $KUBEBUILDER_ASSETS (the envtest convention) when it holds every binary.
#   2. A version-keyed cache outside the repository:
#        ${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-storage/k8s-<version>-etcd-<version>/
#      built from the Go module proxy on first use (needs Go >= 1.26 and network
#      access to the module proxy; takes a while on the first run).
#
# The build happens in a temporary directory next to the cache and is renamed
# into place at the end, so an interrupted build never leaves a partial cache.
set -euo pipefail

K8S_VERSION="${E2E_K8S_VERSION:-1.35.4}"
ETCD_VERSION="${E2E_ETCD_VERSION:-3.6.16}"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
KEY="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
if [ "${1:-}" = kubelet ]; then
  BINARIES=(kubelet)
  KEY="kubelet-${K8S_VERSION}"
fi
# The Kubernetes commands of this cache (everything but etcd).
K8S_COMMANDS=()
for b in "${BINARIES[@]}"; do [ "$b" = etcd ] || K8S_COMMANDS+=("$b"); done

log() { echo "[binaries] $*" >&2; }

has_all() {
  local dir="$1" b
  [ -n "$dir" ] && [ -d "$dir" ] || return 1
  for b in "${BINARIES[@]}"; do
    [ -x "$dir/$b" ] || return 1
  done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if has_all "$KUBEBUILDER_ASSETS"; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of: ${BINARIES[*]}; falling back to the build cache"
fi

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-storage"
DEST="$CACHE_ROOT/$KEY"

if has_all "$DEST"; then
  echo "$DEST"
  exit 0
fi

command -v go >/dev/null 2>&1 || {
  log "Go is required to build the control-plane binaries (or set KUBEBUILDER_ASSETS)"
  exit 1
}

mkdir -p "$CACHE_ROOT"
# One build at a time per key; a second caller waits and then finds the cache.
exec 9>"$CACHE_ROOT/.$KEY.lock"
flock 9
if has_all "$DEST"; then
  echo "$DEST"
  exit 0
fi

# Leftovers of a build that was killed outright (we hold the lock: none is running).
rm -rf "$CACHE_ROOT/.build-$KEY."* 2>/dev/null || true
WORK="$(mktemp -d "$CACHE_ROOT/.build-$KEY.XXXXXX")"
cleanup() { chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

START=$(date +%s)
log "building ${BINARIES[*]} (Kubernetes v$K8S_VERSION) into $DEST (first run only; this takes a while)"

export GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
mkdir -p "$WORK/bin"

# --- etcd: the server module's main package, built from a throwaway module so
# the server module's own replace directives do not apply.
[ "${BINARIES[0]}" != etcd ] || (
  mkdir -p "$WORK/etcd"
  cd "$WORK/etcd"
  cat > go.mod <<MOD
module e2e.local/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
MOD
  log "resolving etcd modules"
  go mod download go.etcd.io/etcd/server/v3 >&2
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
  log "building etcd"
  go build -trimpath -ldflags '-s -w' -o "$WORK/bin/etcd" go.etcd.io/etcd/server/v3 >&2
)

# --- Kubernetes: k8s.io/kubernetes replaces its staging modules with local
# directories that are not part of the published module; point them at the
# published k8s.io/* modules of the same release instead.
STAGING_VERSION="v0.${K8S_VERSION#1.}"
mkdir -p "$WORK/k8s"
(
  cd "$WORK/k8s"
  go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" > download.json
  MODDIR="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' download.json)"
  {
    echo "module e2e.local/k8s"
    echo
    echo "go $(sed -n 's/^go //p' "$MODDIR/go.mod")"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9.-]*\) => ./staging/src/.*#\1#p' "$MODDIR/go.mod" |
      while read -r m; do echo "	$m => $m $STAGING_VERSION"; done
    echo ")"
  } > go.mod
  log "resolving Kubernetes modules"
  PACKAGES=()
  for b in "${K8S_COMMANDS[@]}"; do PACKAGES+=("k8s.io/kubernetes/cmd/$b@v$K8S_VERSION"); done
  go get "${PACKAGES[@]}" >&2
  MINOR="${K8S_VERSION#1.}"; MINOR="${MINOR%%.*}"
  BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  LDFLAGS="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LDFLAGS="$LDFLAGS -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
    LDFLAGS="$LDFLAGS -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
  done
  # Sequential on purpose: each link of these binaries takes most of the memory
  # and CPU a small machine has.
  for b in "${K8S_COMMANDS[@]}"; do
    log "building $b"
    go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/bin/$b" "k8s.io/kubernetes/cmd/$b" >&2
  done
)

"$WORK/bin/${K8S_COMMANDS[0]}" --version >&2

mv "$WORK/bin" "$WORK/done"
rm -rf "$DEST"
mv "$WORK/done" "$DEST"
log "built in $(( $(date +%s) - START ))s"
echo "$DEST"
