#!/usr/bin/env bash
# Usage: ensure-apt-packages.sh <debian package>...
# Installs the named Debian/Ubuntu packages, only those that are missing. Quiet and
# non-interactive; safe under CI with no stdin. Runs apt-get update only when something
# has to be installed.
set -euo pipefail

missing=()
for p in "$@"; do
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
