#!/usr/bin/env bash
# Writes the two images the test node loads into its containerd as image archives
# and prints "<pause archive> <controller archive>" as the last line of stdout:
#   - the sandbox image localhost/cdk8s-storage-e2e/pause:1 (pause.go, static, on an
#     empty base), so no registry is needed;
#   - the controller image localhost/cdk8s-storage-controller:<version>, built with
#     `npx projen image` when podman does not have it from this checkout's bundle and
#     Dockerfiles yet (the image's cdk8s-storage.dev/inputs label).
# Both are cached outside the repository, keyed by their inputs (pause.go and the Go
# version; the controller image's id).
#
# With --server it writes only the in-cluster NFS server image,
# localhost/cdk8s-storage-nfs-server:<version> (built with `npx projen image --server`
# when podman does not have it from this checkout yet; cached by image id), and prints its archive: the test
# file that runs the server loads it itself, so no other test run pays for its 266 MB.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../../.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-storage/node-images"
PAUSE_REF=localhost/cdk8s-storage-e2e/pause:1
VERSION="$(node -p "require('$REPO/package.json').version")"
CONTROLLER_REF="localhost/cdk8s-storage-controller:$VERSION"
SERVER_REF="localhost/cdk8s-storage-nfs-server:$VERSION"

log() { echo "[node-images] $*" >&2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# The label scripts/build-image.sh puts on the images it builds from these inputs.
INPUTS="$(cat "$REPO/Dockerfile" "$REPO/Dockerfile.server" "$REPO/assets/runtime/main/index.js" | sha256sum | cut -c1-16)"

# save_archive <name> <ref> [image build args]: builds <ref> with `npx projen image <args>`
# when podman lacks it or has it built from other inputs (an older bundle), saves it once
# as $CACHE/<name>-<image id>.tar (removing older archives of that name) and prints the
# archive's path.
save_archive() {
  local name="$1" ref="$2" id tar built
  shift 2
  built="$(podman image inspect --format '{{index .Labels "cdk8s-storage.dev/inputs"}}' "$ref" 2>/dev/null || true)"
  if [ "$built" != "$INPUTS" ]; then
    log "$ref is not built from this checkout yet: npx projen image $*"
    (cd "$REPO" && npx projen image "$@" >&2)
  fi
  id="$(podman image inspect --format '{{.Id}}' "$ref" | cut -c1-16)"
  tar="$CACHE/$name-$id.tar"
  if [ ! -s "$tar" ]; then
    log "saving $ref"
    rm -f "$CACHE/$name"-*.tar
    podman save -q --format docker-archive -o "$tar.tmp" "$ref"
    mv "$tar.tmp" "$tar"
  fi
  echo "$tar"
}

if [ "${1:-}" = --server ]; then
  save_archive nfs-server "$SERVER_REF" --server
  exit 0
fi

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

CONTROLLER_TAR="$(save_archive controller "$CONTROLLER_REF")"
echo "$PAUSE_TAR $CONTROLLER_TAR"
