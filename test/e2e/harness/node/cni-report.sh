#!/bin/sh
# The test node's CNI plugin: it configures nothing and reports an address, so pods
# get only their loopback interface and no packet of theirs can leave this machine
# (containerd's CRI wants an eth0 address in the result; nothing answers at it).
# Installed under two names: `loopback` (which containerd always calls: it brings
# the pod's lo up) and `e2e-report` (the pod network).
set -eu
config="$(cat)"
version="$(printf '%s' "$config" | sed -n 's/.*"cniVersion"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
case "${CNI_COMMAND:-}" in
  ADD)
    if [ "$(basename "$0")" = loopback ]; then
      nsenter --net="$CNI_NETNS" ip link set lo up
      printf '{"cniVersion":"%s","interfaces":[{"name":"lo","sandbox":"%s"}],"ips":[{"version":"4","address":"127.0.0.1/8","interface":0}]}\n' "$version" "$CNI_NETNS"
    else
      printf '{"cniVersion":"%s","interfaces":[{"name":"eth0","sandbox":"%s"}],"ips":[{"version":"4","address":"10.244.0.2/24","interface":0}]}\n' "$version" "$CNI_NETNS"
    fi
    ;;
  DEL | CHECK) ;;
  VERSION) printf '{"cniVersion":"%s","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}\n' "${version:-1.0.0}" ;;
  *) echo "unsupported CNI_COMMAND ${CNI_COMMAND:-}" >&2; exit 1 ;;
esac
