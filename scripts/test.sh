#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, staticcheck, and
# every Go test, the BigQuery sink's against a real BigQuery engine
# (goccy/bigquery-emulator, built once and cached by .ci/bigquery-emulator.sh).
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh ./internal/audit/...   # some packages
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=("$@")
[[ ${#pkgs[@]} -gt 0 ]] || pkgs=(./...)

echo "== gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet "${pkgs[@]}"

echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 "${pkgs[@]}"

echo "== container image (offline)"
bash .ci/container-check.sh

echo "== BigQuery emulator"
BIGQUERY_EMULATOR_BIN="$(bash .ci/bigquery-emulator.sh)"
export BIGQUERY_EMULATOR_BIN

echo "== go test"
go test -count=1 -tags disable_grpc_modules "${pkgs[@]}"

# The packages that decode, build and evaluate concurrently, again under
# the race detector (the export's workers share one string set and write
# their rows into one array).
echo "== go test -race (concurrent packages)"
go test -count=1 -tags disable_grpc_modules -race ./internal/scan ./internal/inventory ./internal/audit ./internal/access
