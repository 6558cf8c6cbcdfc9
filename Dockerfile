# syntax=docker/dockerfile:1
#
# tokengate container image: a static binary on distroless, running as the
# non-root user 65532.
#
#   docker build -t tokengate .
#
# A release build says what it is (`tokengate version`, and the image's
# org.opencontainers.image.* labels); the build context has no .git, so
# the version and revision come in as build arguments:
#
#   docker build \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#     -t tokengate .
#
# The image holds no configuration. Its default command is
#
#   tokengate serve --config /etc/tokengate/config.yaml
#
# and it expects that file (and the key files it names) to be mounted:
# deploy/kubernetes/ mounts a ConfigMap there. Without the file the
# container exits with an error — it never falls back to the built-in
# configuration, whose dev section generates and trusts a local key.
#
# The reference config.yaml listens on 127.0.0.1, which is right for a
# sidecar (the pod neighbour calls it over loopback) but not reachable
# through `docker run -p`; for that, listen on 0.0.0.0 in the mounted file
# or set TOKENGATE_LISTEN_VERIFY / TOKENGATE_LISTEN_ADMIN:
#
#   docker run --rm -p 8181:8181 -p 8182:8182 \
#     -v "$PWD/my-config:/etc/tokengate:ro" \
#     -e TOKENGATE_LISTEN_VERIFY=0.0.0.0:8181 -e TOKENGATE_LISTEN_ADMIN=0.0.0.0:8182 \
#     tokengate
#
# There is no HEALTHCHECK: distroless has no shell or curl to run one, and
# orchestrators probe the admin listener themselves (GET :8182/healthz and
# :8182/readyz; see deploy/kubernetes/deployment.yaml).

# Base images are pinned by digest, so that a rebuild of the same commit
# uses the same compiler and the same run-time files, and a tag moved by
# someone else cannot change the image. The digests are those of the
# multi-platform image indexes (one digest for every architecture). To
# move to newer images (security fixes: do it regularly), resolve the tags
# again and replace both digests (and the base.digest label below):
#
#   docker buildx imagetools inspect golang:1.26 --format '{{json .Manifest.Digest}}'
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot --format '{{json .Manifest.Digest}}'
#
# (or `crane digest IMAGE`). Resolved on 2026-08-27: golang:1.26 was Go
# 1.26.7 then.

# ---- build ----------------------------------------------------------------
FROM --platform=$BUILDPLATFORM golang:1.26@sha256:dc2521c2a906db43073b8b4d99f491b6341cf15610b6ebbab187c45153f9959e AS build
ARG TARGETOS
ARG TARGETARCH
# Release identity (see the top of this file); empty in a plain build,
# which then reports version "(devel)".
ARG VERSION=""
ARG REVISION=""
WORKDIR /src

# Dependencies first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# A static binary (no cgo, so no libc needed at run time), without local
# paths (-trimpath) and without symbol tables (-s -w), carrying the version
# and revision (-X, read by internal/buildinfo).
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags="-s -w -X github.com/tokengate/tokengate/internal/buildinfo.version=${VERSION} -X github.com/tokengate/tokengate/internal/buildinfo.revision=${REVISION}" \
      -o /out/tokengate ./cmd/tokengate

# ---- run ------------------------------------------------------------------
# distroless/static: CA certificates, tzdata and /etc/passwd with the
# nonroot user; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
ARG VERSION=""
ARG REVISION=""
ARG CREATED=""
# OCI image annotations (github.com/opencontainers/image-spec,
# annotations.md).
LABEL org.opencontainers.image.title="tokengate" \
      org.opencontainers.image.description="JWT verification sidecar: answers /verify for nginx, Caddy, Envoy, Traefik or a pod neighbour" \
      org.opencontainers.image.source="https://github.com/tokengate/tokengate" \
      org.opencontainers.image.url="https://github.com/tokengate/tokengate" \
      org.opencontainers.image.documentation="https://github.com/tokengate/tokengate/blob/main/README.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot" \
      org.opencontainers.image.base.digest="sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab"
COPY --from=build /out/tokengate /usr/local/bin/tokengate
USER 65532:65532
# 8181: /verify (listen.verify), 8182: admin — /healthz, /readyz, /metrics,
# /keys (listen.admin).
EXPOSE 8181 8182
ENTRYPOINT ["/usr/local/bin/tokengate"]
CMD ["serve", "--config", "/etc/tokengate/config.yaml"]
