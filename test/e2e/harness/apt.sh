#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the e2e suite needs, only when missing
# (scripts/ensure-apt-packages.sh does the work; .ci/run calls this first).
# podman, runc, mmdebstrap and binutils build and run the controller image
# (scripts/build-image.sh; runc because podman runs containers here with it);
# containerd runs the test node's pods (test/e2e/harness/node.ts).
# libnfs-dev and gcc build the long-lived NFSv4 client session of the server tests (test/util/nfs-session.c).
set -euo pipefail

PACKAGES=(nfs-ganesha nfs-ganesha-vfs rpcbind dbus libnfs-utils libnfs-dev gcc libc6-dev xfsprogs e2fsprogs util-linux openssl
  podman runc mmdebstrap binutils containerd)

exec bash "$(dirname "$0")/../../../scripts/ensure-apt-packages.sh" "${PACKAGES[@]}"
