#!/usr/bin/env bash
# Makes a PostgreSQL available for the tests and the local run, idempotently.
#
# Prints one line `mode=<mode>` last, where mode is:
#   external   REGENERATION_TEST_POSTGRES (a connection string) is set: use that server, touch nothing
#   container  a Docker engine answers (started here if installed but not running, installed from
#              Debian's packages if missing) and the PostgreSQL image is present (built locally from
#              Debian packages with debootstrap when the registry cannot be reached)
set -euo pipefail

IMAGE="${REGENERATION_POSTGRES_IMAGE:-postgres:17-alpine}"
# The tag carries a hash of the entrypoint, so a changed entrypoint builds a new image.
LOCAL_IMAGE="regeneration/postgres:15-debian-$(sha256sum "$(dirname "$0")/postgres-entrypoint.sh" | cut -c1-8)"
log() { printf '[ensure-postgres] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -n "${REGENERATION_TEST_POSTGRES:-}" ]; then
  log "using the server in REGENERATION_TEST_POSTGRES"
  echo "mode=external"
  exit 0
fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

# Debian's Docker 20.10 speaks API 1.41; newer clients (and Testcontainers) must not ask for more.
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Docker engine from Debian's packages"
    apt_install docker.io
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    as_root sh -c 'nohup dockerd >/var/log/regeneration-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  fi
fi
docker info >/dev/null 2>&1 || { log "Docker engine did not start (see /var/log/regeneration-dockerd.log)"; exit 1; }

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  if timeout 20 docker pull -q "$IMAGE" >/dev/null 2>&1; then
    log "pulled $IMAGE"
  else
    IMAGE="$LOCAL_IMAGE"
    if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
      log "no image registry reachable: building $IMAGE from Debian packages (about a minute)"
      command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
      rootfs=$(mktemp -d /tmp/regeneration-pg-rootfs.XXXXXX)
      as_root debootstrap --variant=minbase --include=postgresql-15 bookworm "$rootfs" http://deb.debian.org/debian >&2
      as_root install -m 0755 "$(dirname "$0")/postgres-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
      as_root tar -C "$rootfs" -c . | docker import \
        -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV PGDATA=/var/lib/postgresql/data' \
        -c 'EXPOSE 5432' \
        -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' - "$IMAGE" >&2
      as_root rm -rf "$rootfs"
    fi
  fi
fi
log "image $IMAGE ready"
echo "image=$IMAGE"
echo "mode=container"
