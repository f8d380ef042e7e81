# The runaudit job image: a static Go binary on a distroless base, run as a
# non-root user with no shell in the image.
#
#   docker build -t audit --build-arg VERSION=$(git describe --always) .
#
# Stage "build" compiles without cgo, so the binary needs no libc; the
# final stage holds only it, CA certificates (for Google APIs over TLS) and
# distroless's passwd entry for "nonroot" (uid 65532). .ci/container-check.sh
# proves offline that this is all the binary needs. For reproducible builds
# pin both bases by digest, FROM image:tag@sha256:… (docs/deploy.md).

# The Go release matches go.mod's go line (deploy_test.go checks it).
FROM golang:1.26.8 AS build
WORKDIR /src
# Modules first: this layer is reused while go.mod and go.sum do not change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# disable_grpc_modules is cloud.google.com/go/storage's documented opt-out
# of gRPC DirectPath (xDS, Envoy's protos), which the job never uses: it
# reads and writes Cloud Storage over JSON. It takes 13 MiB off the binary
# and about 13 MiB off every run's resident memory (docs/scale.md).
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -tags disable_grpc_modules \
      -ldflags "-s -w -X main.buildVersion=${VERSION}" \
      -o /out/audit ./cmd/audit

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/audit /audit
# Cloud Run's container filesystem is written only under /tmp.
ENV AUDIT_OUT=/tmp/audit-out
USER 65532:65532
ENTRYPOINT ["/audit"]
