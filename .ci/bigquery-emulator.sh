#!/usr/bin/env bash
# Builds goccy/bigquery-emulator (the BigQuery engine the BigQuery sink's tests
# run against) once into a cache directory and prints the binary's path on
# stdout; everything else goes to stderr. Later calls reuse the binary.
#
#   BIGQUERY_EMULATOR_BIN="$(.ci/bigquery-emulator.sh)"
#
# Environment:
#   RUNAUDIT_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/runaudit)
#
# A cold build compiles ZetaSQL with cgo: about 12 minutes and 5 GB of memory;
# later builds hit the Go build cache.
set -euo pipefail

module=github.com/goccy/bigquery-emulator
version=v0.6.6 # the only version the module proxy serves here
cache="${RUNAUDIT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runaudit}"
bin="$cache/bin/bigquery-emulator-$version"

if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

# ZetaSQL only builds with clang.
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
	echo "bigquery-emulator.sh: installing clang" >&2
	sudo=""
	if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang >&2
fi

# `go install $module/cmd/bigquery-emulator@$version` fails here: it looks up
# the module's deprecation through the proxy's version list, which the proxy
# refuses. Build from the downloaded module source instead (its own go.mod
# and go.sum), which needs no version list.
dir="$(cd "$(mktemp -d)" && go mod download -json "$module@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$dir" || ! -d "$dir" ]]; then
	echo "bigquery-emulator.sh: could not download $module@$version" >&2
	exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R "$dir/." "$work/"
chmod -R u+w "$work"
mkdir -p "$(dirname "$bin")"

echo "bigquery-emulator.sh: building $module@$version into $bin (cold build ~12 min)" >&2
(
	cd "$work"
	CGO_ENABLED=1 CC=clang CXX=clang++ GOFLAGS=-mod=mod \
		go build -trimpath -o "$bin.tmp" ./cmd/bigquery-emulator
) >&2
mv "$bin.tmp" "$bin"
echo "$bin"
