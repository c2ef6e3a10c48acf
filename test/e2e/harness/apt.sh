#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the e2e suite needs, only when missing.
# Quiet and non-interactive; safe under CI with no stdin. Runs apt-get update
# only when something has to be installed.
set -euo pipefail

PACKAGES=(nfs-ganesha nfs-ganesha-vfs rpcbind dbus libnfs-utils xfsprogs e2fsprogs util-linux openssl)

missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
  case "$status" in
    ii*) ;;
    *) missing+=("$p") ;;
  esac
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
  echo "[apt] missing packages (${missing[*]}) and no apt-get; install them by hand" >&2
  exit 1
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "[apt] missing packages (${missing[*]}); run as root or install them by hand" >&2
    exit 1
  fi
fi

echo "[apt] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-q -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
run() {
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@" </dev/null >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "[apt] failed: $*" >&2
    exit 1
  fi
}
run apt-get "${APT_OPTS[@]}" update
run apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}"
echo "[apt] done" >&2
