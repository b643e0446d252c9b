# syntax=docker/dockerfile:1
#
# The capability_exporter image: a static binary with its version in the
# build info, on distroless static as the nonroot user.
#
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg BRANCH=$(git rev-parse --abbrev-ref HEAD) \
#     --build-arg BUILD_USER=$(id -un)@$(hostname) \
#     --build-arg BUILD_DATE=$(date -u +%Y%m%d-%H:%M:%S) \
#     -t capability_exporter .
#
# `make build` runs the same go build line; deploy/image_test.go keeps the two
# equal.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=unknown
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=${BRANCH} -X github.com/prometheus/common/version.BuildUser=${BUILD_USER} -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
    -o ./capability_exporter ./cmd/capability_exporter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/capability_exporter /bin/capability_exporter
# A config that runs anywhere (facts only); mount your own over it, as
# deploy/ does with a ConfigMap.
COPY examples/webshop.yml /etc/capability_exporter/config.yml
USER 65532:65532
EXPOSE 9877
ENTRYPOINT ["/bin/capability_exporter", "--config.file=/etc/capability_exporter/config.yml"]
