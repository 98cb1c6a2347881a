#!/usr/bin/env bash
# Runs every check of the repository on a fresh machine: installs what is missing (npm tools, Chromium,
# Docker engine and a PostgreSQL image, see ensure-postgres.sh), lints the public contract with buf,
# builds the solution, runs all tests against a real PostgreSQL, and proves the docker-compose stack
# (scripts/compose-check.sh). The last line is the summary "N passed, N failed[, N skipped]" computed
# from the TRX results.
#
#   REGENERATION_TEST_POSTGRES=<connection string>  use an existing server instead of Testcontainers
#   REGENERATION_POSTGRES_IMAGE=<image>             the image Testcontainers starts (default postgres:17-alpine,
#                                                   or a locally built one when no registry is reachable)
#   REGENERATION_SKIP_COMPOSE=1                     skip the docker-compose check
#   REGENERATION_SOAK_SECONDS=<n>                   how long the soak test runs (default 30; scripts/soak.sh: 600)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { printf '\n== %s\n' "$*"; }

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (https://dot.net)"; exit 1; }
command -v npm >/dev/null || { echo "Node.js and npm are required"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required (it reads the test results)"; exit 1; }

log "npm tools (buf, @grpc/grpc-js)"
npm ci --no-audit --no-fund --loglevel=error

log "buf lint (default rules)"
npx --no-install buf lint protos
echo "buf lint: clean"

log "Chromium (browser tests)"
if [ -z "${REGENERATION_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
echo "chromium: $(command -v chromium || echo "$REGENERATION_CHROMIUM")"

log "PostgreSQL"
ensure=$(bash scripts/ensure-postgres.sh)
mode=$(sed -n 's/^mode=//p' <<<"$ensure")
image=$(sed -n 's/^image=//p' <<<"$ensure")
if [ "$mode" = container ]; then
  export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
  export TESTCONTAINERS_RYUK_DISABLED=true
  export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
  export REGENERATION_POSTGRES_IMAGE="$image"
  echo "PostgreSQL mode: Testcontainers with image $image"
else
  echo "PostgreSQL mode: external server from REGENERATION_TEST_POSTGRES"
fi

log "build"
dotnet build Regeneration.sln -c Release -nologo -v quiet

log "tests"
results="$root/artifacts/test-results"
rm -rf "$results" "$root/artifacts/reliability"
set +e
dotnet test Regeneration.sln -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results"
test_exit=$?
set -e
if [ "$mode" = container ]; then
  # Ryuk (the reaper) cannot be pulled here, so remove what Testcontainers left behind.
  docker ps -aq --filter label=org.testcontainers=true --filter "ancestor=$image" | xargs -r docker rm -f >/dev/null 2>&1 || true
fi

log "reliability figures of this run (RELIABILITY.md; also in artifacts/reliability/report.md)"
python3 scripts/reliability-report.py "$root/artifacts/reliability"

log "benchmark smoke run (figures: BENCHMARKS.md)"
bench_exit=0
dotnet run -c Release --no-build --project bench/Regeneration.Benchmarks -- --smoke 2>&1 | grep -E '^\||^Regeneration benchmarks|^loaded' || bench_exit=1
[ "$bench_exit" -eq 0 ] || echo "The benchmark smoke run failed: the run fails."

compose_exit=0
if [ "$mode" = container ] && [ "${REGENERATION_SKIP_COMPOSE:-}" != 1 ]; then
  log "docker-compose stack"
  bash scripts/compose-check.sh || compose_exit=$?
else
  echo "docker-compose check skipped (no Docker engine in this mode, or REGENERATION_SKIP_COMPOSE=1)"
fi

summary=$(python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    for r in ET.parse(path).getroot().iter("{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}UnitTestResult"):
        outcome = r.get("outcome")
        if outcome == "Passed": passed += 1
        elif outcome == "NotExecuted": skipped += 1
        else: failed += 1
line = f"{passed} passed, {failed} failed"
if skipped: line += f", {skipped} skipped"
print(line)
PY
)
if [ "$test_exit" -ne 0 ] && [[ "$summary" == *" 0 failed"* ]]; then
  # The runner failed without a failed test result (a crash, a build or discovery error): say so.
  summary="${summary/ 0 failed/ 1 failed}"
fi
[ "$compose_exit" -eq 0 ] || echo "The docker-compose check failed (see above): the run fails."
echo
echo "$summary"
[ "$test_exit" -eq 0 ] && [ "$compose_exit" -eq 0 ] && [ "$bench_exit" -eq 0 ]
