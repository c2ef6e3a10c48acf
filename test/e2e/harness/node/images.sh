#!/usr/bin/env bash
# Writes the two images the test node loads into its containerd as image archives
# and prints "<pause archive> <controller archive>" as the last line of stdout:
#   - the sandbox image localhost/cdk8s-storage-e2e/pause:1 (pause.go, static, on an
#     empty base), so no registry is needed;
#   - the controller image localhost/cdk8s-storage-controller:<version>, built with
#     `npx projen image` when podman does not have it yet.
# Both are cached outside the repository, keyed by their inputs (pause.go and the Go
# version; the controller image's id).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../../.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-storage/node-images"
PAUSE_REF=localhost/cdk8s-storage-e2e/pause:1
VERSION="$(node -p "require('$REPO/package.json').version")"
CONTROLLER_REF="localhost/cdk8s-storage-controller:$VERSION"

log() { echo "[node-images] $*" >&2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

PAUSE_KEY="$( (cat "$HERE/pause.go"; go version) | sha256sum | cut -c1-16)"
PAUSE_TAR="$CACHE/pause-$PAUSE_KEY.tar"
if [ ! -s "$PAUSE_TAR" ]; then
  log "building the sandbox image $PAUSE_REF"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  (cd "$WORK" && cp "$HERE/pause.go" . &&
    GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o pause pause.go)
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$WORK/Containerfile"
  podman build -q --network=none -t "$PAUSE_REF" -f "$WORK/Containerfile" "$WORK" >&2
  podman save -q --format docker-archive -o "$PAUSE_TAR.tmp" "$PAUSE_REF"
  mv "$PAUSE_TAR.tmp" "$PAUSE_TAR"
fi

if ! podman image exists "$CONTROLLER_REF"; then
  log "$CONTROLLER_REF is not built yet: npx projen image"
  (cd "$REPO" && npx projen image >&2)
fi
CONTROLLER_ID="$(podman image inspect --format '{{.Id}}' "$CONTROLLER_REF" | cut -c1-16)"
CONTROLLER_TAR="$CACHE/controller-$CONTROLLER_ID.tar"
if [ ! -s "$CONTROLLER_TAR" ]; then
  log "saving $CONTROLLER_REF"
  rm -f "$CACHE"/controller-*.tar
  podman save -q --format docker-archive -o "$CONTROLLER_TAR.tmp" "$CONTROLLER_REF"
  mv "$CONTROLLER_TAR.tmp" "$CONTROLLER_TAR"
fi
echo "$PAUSE_TAR $CONTROLLER_TAR"
