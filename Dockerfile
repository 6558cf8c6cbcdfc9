# syntax=docker/dockerfile:1
#
# tokengate container image: a static binary on distroless, running as the
# non-root user 65532.
#
#   docker build -t tokengate .
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

# ---- build ----------------------------------------------------------------
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src

# Dependencies first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# A static binary (no cgo, so no libc needed at run time), without local
# paths (-trimpath) and without symbol tables (-s -w).
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/tokengate ./cmd/tokengate

# ---- run ------------------------------------------------------------------
# distroless/static: CA certificates, tzdata and /etc/passwd with the
# nonroot user; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tokengate /usr/local/bin/tokengate
USER 65532:65532
# 8181: /verify (listen.verify), 8182: admin — /healthz, /readyz, /metrics,
# /keys (listen.admin).
EXPOSE 8181 8182
ENTRYPOINT ["/usr/local/bin/tokengate"]
CMD ["serve", "--config", "/etc/tokengate/config.yaml"]
