# The cdk8s-storage controller image, built from this package's own bundle.
#
# The bundle (assets/runtime/main/index.js) is one self-contained file made by
# `npx projen bundle` (part of `npx projen build`) and shipped in the npm package with its
# THIRD_PARTY_NOTICES, so this builds from a checkout after a build or from the installed
# package alike. `npx projen image` (or `npx cdk8s-storage-image` from the installed package)
# runs the build; by hand:
#
#   podman build --build-arg VERSION=<package version> -t cdk8s-storage-controller:<package version> .
#
# The base image is a build argument: where the default cannot be pulled, the build script
# passes a base it made from Debian packages and Node.js (docs/image.md); a mirror works too.
# Whatever the base, it must put `node` (>= 20) on PATH.
ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim
FROM ${NODE_IMAGE}

ARG VERSION=0.0.0
LABEL org.opencontainers.image.title="cdk8s-storage-controller" \
      org.opencontainers.image.description="Runtime controller of cdk8s-storage: NFS provisioning and the local volume node agent" \
      org.opencontainers.image.source="https://github.com/cdk8s-storage/cdk8s-storage" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

ENV NODE_ENV=production
WORKDIR /app
# The licenses of everything bundled are in THIRD_PARTY_NOTICES (the base carries its own).
COPY LICENSE /app/LICENSE
COPY assets/runtime/main/THIRD_PARTY_NOTICES /app/THIRD_PARTY_NOTICES
COPY assets/runtime/main/index.js /app/index.js

# Non-root unless the pod says otherwise (numeric, so runAsNonRoot can verify it). The
# manifests the constructs write choose the user on purpose: the NFS controller runs as
# uid 0 with only CHOWN, DAC_OVERRIDE and FOWNER, because volume directories end up owned
# by whatever users the workload pods run as. On an export with root_squash the server
# maps uid 0 to nobody anyway; there the directories stay writable through their mode
# (the default directoryMode is 0777), not through the controller's identity.
USER 1000:1000

# Node handles SIGTERM itself (graceful shutdown releases the leader Lease), so no init
# wrapper is needed; exec form keeps node as PID 1 to receive the signal.
# --max-semi-space-size=2 (MiB; V8's default is 16): a small young generation. The commands
# hold few long-lived objects and make many short-lived ones (list pages, requests); with the
# default V8 keeps up to 3 x 16 MiB of them resident between collections. Measured
# (bench/README.md): 5,000 volumes 151 -> 128 MiB synced and 182 -> 149 MiB at the peak; a
# 500-claim burst 25.3 -> 21.5 ms of CPU per claim, peak 94 -> 84 MiB.
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/index.js"]
CMD ["--help"]
