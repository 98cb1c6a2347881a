#!/usr/bin/env bash
# The long soak (RELIABILITY.md): the whole system as four processes under steady load through the
# gateway for N seconds (default 600), then the per-window table of requests, errors, p50/p99 latency
# and each process's RSS. The test command runs the same test for 30 s.
#
#   bash scripts/soak.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
ensure=$(bash scripts/ensure-postgres.sh)
if [ "$(sed -n 's/^mode=//p' <<<"$ensure")" = container ]; then
  export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}" TESTCONTAINERS_RYUK_DISABLED=true
  export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
  export REGENERATION_POSTGRES_IMAGE="$(sed -n 's/^image=//p' <<<"$ensure")"
fi
dotnet build Regeneration.sln -c Release -nologo -v quiet
rm -f artifacts/reliability/soak.md
REGENERATION_SOAK_SECONDS="$seconds" dotnet test tests/Regeneration.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~Reliability.SoakTests"
cat artifacts/reliability/soak.md
