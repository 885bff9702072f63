# k6gate image: the compiled Bun binary beside the real k6, on distroless (glibc), non-root.
#
# The binary needs only glibc (ldd dist/k6gate: libc.so.6, libpthread.so.0, libdl.so.2,
# libm.so.6, ld-linux-x86-64.so.2; no libstdc++ or libgcc_s), all in distroless/base-debian12,
# so the larger cc-debian12 is not needed. No shell in the final stage.
#
# Pins: grafana/k6 by version and digest (the digest grafana/flagger-k6-webhook v0.5.7 pins).
# oven/bun, debian and distroless are pinned by tag only: their digests could not be looked up
# where this was written (no registry access). Renovate (.github/renovate.json, docker:pinDigests)
# adds and keeps their digests on its first run; or pin them in your registry mirror
# (`crane digest oven/bun:1.4.4`).

# Multi-arch without emulation: every stage that runs a command runs on the build machine's
# platform ($BUILDPLATFORM): Bun cross-compiles the binary for $TARGETARCH, and tini's static
# binary is unpacked from Debian's package for $TARGETARCH; the other stages only copy files.
ARG BUN_VERSION=1.4.4

FROM --platform=$BUILDPLATFORM oven/bun:${BUN_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
# `npm ci` without npm (the oven/bun image has none): Bun reads package-lock.json, installs
# exactly the locked tree (checked: package for package the versions `npm ci` installs) and, frozen,
# fails if package.json and the lock disagree. Only runtime dependencies: bun build needs no
# typescript or @types, and nothing runs install scripts.
COPY package.json package-lock.json ./
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY tsconfig.json ./
COPY build ./build
COPY src ./src
# The same command as `make build` (its COMPILE flags, with the bytecode-order profiles in
# build/); the version is package.json's, as everywhere.
RUN VERSION="$(bun -e 'console.log(require("./package.json").version)')" && \
    case "${TARGETARCH:-amd64}" in amd64) BUN_ARCH=x64 ;; arm64) BUN_ARCH=arm64 ;; \
      *) echo "no Bun target for ${TARGETARCH}" >&2; exit 1 ;; esac && \
    bun build src/main.ts --compile --minify --bytecode --format esm --splitting \
      --target="bun-linux-${BUN_ARCH}" \
      --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
      --bytecode-order=build/serve.order,build/run.order --compile-jit-policy=8 \
      --define K6GATE_VERSION="\"${VERSION}\"" --outfile /out/k6gate

FROM grafana/k6:2.1.0@sha256:65c920dc067d5e2e00befbf982af6ad6ad0117034e8b1c65817c7975c52d4669 AS k6

# tini as PID 1 reaps orphans that a k6 child may leave (for example browser processes) and
# forwards signals; k6gate also handles SIGTERM correctly when it is PID 1 itself. Pinned to
# bookworm's version; the target architecture's package is downloaded and unpacked (not
# installed, so nothing of it runs here), and only its static build is copied.
FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS tini
ARG TARGETARCH
RUN dpkg --add-architecture "${TARGETARCH:-amd64}" \
 && apt-get update \
 && cd /tmp && apt-get download "tini:${TARGETARCH:-amd64}=0.19.0-1+b3" \
 && dpkg-deb -x tini_*.deb /tini \
 && install -D /tini/usr/bin/tini-static /usr/bin/tini-static \
 && rm -rf /var/lib/apt/lists/* /tmp/tini* /tini

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/k6gate /usr/bin/k6gate
COPY --from=k6 /usr/bin/k6 /usr/bin/k6
COPY --from=tini /usr/bin/tini-static /usr/bin/tini
ENV TMPDIR=/tmp K6_BINARY=/usr/bin/k6 LISTEN_PORT=8000
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/k6gate"]
CMD ["serve"]
