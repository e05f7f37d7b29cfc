#!/usr/bin/env bash
# Builds the images deploy/compose.yaml and deploy/k8s/ run, each on one Debian base image:
#
#   ketenpoort:TAG            the gateway, from the wheels of this checkout (pip wheel '.[postgres]')
#   ketenpoort-rabbitmq:TAG   RabbitMQ from Debian's rabbitmq-server
#   ketenpoort-postgres:TAG   PostgreSQL 15 from Debian's postgresql-15
#
#   deploy/build-images.sh                       # or: ./dev deploy build
#   BASE_IMAGE=docker.io/library/debian:bookworm deploy/build-images.sh   # a registry's base
#
# BASE_IMAGE defaults to localhost/debian-base:bookworm, made here when missing (root needed):
# debootstrap --variant=minbase bookworm from the Debian mirror in apt's sources (DEBIAN_MIRROR
# overrides it), imported with `podman import`. TAG defaults to latest. Uses podman with
# deploy/podman/containers.conf unless CONTAINERS_CONF names another.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
BASE_IMAGE=${BASE_IMAGE:-localhost/debian-base:bookworm}
TAG=${TAG:-latest}
say() { printf '[build-images] %s\n' "$*" >&2; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local found
  found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
            2>/dev/null | grep -oE '^(deb|URIs:)[[:space:]]+[a-z]+://[^[:space:]]+' \
            | awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
  echo "${found:-http://deb.debian.org/debian}"
}

make_base() {
  local mirror root
  mirror=$(debian_mirror)
  root=$(mktemp -d /tmp/ketenpoort-base.XXXXXX)
  say "making $BASE_IMAGE with debootstrap from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
  cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

if ! podman image exists "$BASE_IMAGE"; then
  if [ "$BASE_IMAGE" = localhost/debian-base:bookworm ]; then make_base; fi
fi

context=$(mktemp -d /tmp/ketenpoort-build.XXXXXX)
trap 'rm -rf "$context"' EXIT
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
say "wheels of the checkout and its dependencies"
"$python" -m pip wheel -q --wheel-dir "$context/wheels" '.[postgres]'
cp deploy/images/gateway/Containerfile "$context/"

build() {
  local name=$1 dir=$2
  say "building $name:$TAG on $BASE_IMAGE"
  podman build -q --network=host --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --label org.opencontainers.image.source=ketenpoort -t "$name:$TAG" "$dir" >/dev/null
}
build ketenpoort "$context"
build ketenpoort-rabbitmq deploy/images/rabbitmq
build ketenpoort-postgres deploy/images/postgres
# the images these replaced, now untagged
podman image prune -f --filter label=org.opencontainers.image.source=ketenpoort >/dev/null
podman images --filter label=org.opencontainers.image.source=ketenpoort
