#!/usr/bin/env bash
# Proves offline what the container image relies on, since no registry or
# Docker engine is reachable here to build it for real:
#
#   1. the audit binary, built as the Dockerfile builds it (CGO_ENABLED=0,
#      -trimpath, -tags disable_grpc_modules, -ldflags '-s -w'), is
#      statically linked and links no gRPC xDS;
#   2. it runs the audit on the example organization as uid 65532 in an
#      otherwise empty, read-only root holding only CA certificates, with a
#      writable /tmp, no network and no /proc — the exit codes and outputs
#      are those of a normal run, and writing outside /tmp fails;
#   3. the Dockerfile passes two linters (versions pinned in .ci/dockerlint);
#   4. buildah (Debian's daemonless builder) builds the Dockerfile's final
#      stage on a stand-in base holding only CA certificates, and the image
#      it produces has the expected user, entrypoint and environment and runs
#      the audit the same way.
#
#   bash .ci/container-check.sh
#
# Needs root (chroot, mount namespaces), as in CI; installs buildah and the
# npm linters on first use. Environment:
#   RUNAUDIT_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/runaudit)
#   SKIP_BUILDAH=1      skip step 4 (say so in the output; CI does not set it)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

say() { echo "container-check: $*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}

[[ "$(id -u)" == 0 ]] || fail "needs root for chroot and mount namespaces"
chroot_bin="$(command -v chroot || true)" # absolute: the runs' environment is emptied
for tool in unshare chroot mount file; do
	command -v "$tool" >/dev/null || fail "$tool not found"
done

cache="${RUNAUDIT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runaudit}"
work="$(mktemp -d /tmp/container-check.XXXXXX)"
chmod 755 "$work"
cleanup() {
	# Mounts live in the private namespaces below and are gone already;
	# buildah's vfs layers are plain directories.
	if [[ -n "${buildah_ctr:-}" ]]; then
		"${B[@]}" umount "$buildah_ctr" >/dev/null 2>&1 || true
		"${B[@]}" rm "$buildah_ctr" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# The same flags as the Dockerfile's build stage.
say "building the static binary"
bin="$work/audit"
CGO_ENABLED=0 GOOS=linux go build -trimpath -tags disable_grpc_modules -ldflags "-s -w -X main.buildVersion=container-check" -o "$bin" ./cmd/audit

# 1. Statically linked: file(1) reads the ELF (no interpreter, no dynamic
# section), and the build info records cgo off.
desc="$(file -b "$bin")"
[[ "$desc" == *"statically linked"* ]] || fail "binary is not statically linked: $desc"
[[ "$desc" != *"interpreter"* ]] || fail "binary names an ELF interpreter: $desc"
go version -m "$bin" | grep -q 'CGO_ENABLED=0' || fail "build info does not record CGO_ENABLED=0"
# Without cloud.google.com/go/storage's gRPC DirectPath modules (the
# Dockerfile's -tags): no xDS client and no Envoy protos in the binary.
go version -m "$bin" | grep -q -- '-tags=disable_grpc_modules' || fail "build info does not record -tags=disable_grpc_modules"
if go version -m "$bin" | grep -qE 'github.com/envoyproxy/|github.com/cncf/xds'; then
	fail "the binary links gRPC xDS (Envoy's protos): $(go version -m "$bin" | grep -E 'envoyproxy|cncf/xds' | tr -s '\t ' ' ' | head -3)"
fi
size_mb=$(($(stat -c %s "$bin") / 1024 / 1024))
say "binary: $desc; ${size_mb} MiB"
((size_mb < 100)) || fail "binary is ${size_mb} MiB; the image is meant to be small"

# A malformed copy of the example organization, for the exit code 3 run.
mkdir -p "$work/examples-bad"
cp examples/acme/*.ndjson "$work/examples-bad/"
echo '{not json' >>"$work/examples-bad/resources.ndjson"

# run_in_root ROOT WANT NAME [VAR=VALUE...] -- COMMAND...: runs COMMAND as
# uid 65532 chrooted in ROOT, read-only except ROOT/tmp (a fresh directory
# owned by 65532), in new mount, network and pid namespaces (so no network
# and no /proc), with an environment holding only the VAR=VALUE words. The
# example organizations are bound read-only at /examples and /examples-bad.
# Fails unless the exit code is WANT; /tmp is left in $work/tmp-NAME.
run_in_root() {
	local root="$1" want="$2" name="$3"
	shift 3
	local vars=()
	while [[ "$1" != -- ]]; do
		vars+=("$1")
		shift
	done
	shift
	local tmp="$work/tmp-$name"
	mkdir -p "$tmp" "$root/tmp" "$root/examples" "$root/examples-bad"
	chown 65532:65532 "$tmp"
	chmod 700 "$tmp"
	local code=0
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --net --pid --fork --propagation private bash -euc '
		root="$1" tmp="$2" examples="$3" bad="$4"; shift 4
		mount --bind "$root" "$root"
		mount --bind "$tmp" "$root/tmp"
		mount --bind -o ro "$examples" "$root/examples"
		mount --bind -o ro "$bad" "$root/examples-bad"
		mount -o remount,bind,ro "$root"
		exec "$@"
	' _ "$root" "$tmp" "$repo/examples" "$work/examples-bad" \
		env -i "${vars[@]}" "$chroot_bin" --userspec=65532:65532 "$root" "$@" \
		>"$work/$name.stdout" 2>"$work/$name.stderr" || code=$?
	if [[ "$code" != "$want" ]]; then
		sed 's/^/    /' "$work/$name.stderr" >&2
		fail "$name: exit code $code, want $want"
	fi
	say "$name: exit code $code as expected"
}

# check_outputs NAME DIR: the run wrote the four outputs to DIR (under its
# /tmp), its findings are exactly the example organization's golden
# findings, and its last log line says it completed.
check_outputs() {
	local out="$work/tmp-$1/$2"
	for f in findings.jsonl findings.csv inventory.jsonl summary.json; do
		[[ -s "$out/$f" ]] || fail "$1: $f missing or empty in /tmp/$2"
	done
	cmp -s "$out/findings.jsonl" cmd/audit/testdata/acme.findings.jsonl.golden ||
		fail "$1: findings.jsonl differs from cmd/audit/testdata/acme.findings.jsonl.golden"
	tail -n 1 "$work/$1.stderr" | grep -q '"severity":"INFO","message":"audit finished: complete"' ||
		fail "$1: the last stderr line is not the JSON 'audit finished: complete' entry"
	say "$1: outputs written to /tmp/$2, findings identical to the golden file"
}

# stage_root DIR: the otherwise empty root: the binary, CA certificates, /tmp.
stage_root() {
	local root="$1"
	mkdir -p "$root/etc/ssl/certs" "$root/tmp"
	install -m 0755 "$bin" "$root/audit"
	install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
	chmod 1777 "$root/tmp"
}

# 2. Run in the minimal root.
say "running the audit as uid 65532 in a read-only root holding only CA certificates"
root="$work/root"
stage_root "$root"
at=(--at 2026-11-01T00:00:00Z) # the golden files' evaluation time
# The golden files pin the run without the registry probe; with it, an
# offline run must still finish at once, leaving the image outside the
# organization unverified, never public.
run_in_root "$root" 0 minimal -- /audit --export /examples/acme --out /tmp/out "${at[@]}" --log-format json --quiet --probe-public-images=false
check_outputs minimal out
SECONDS=0
run_in_root "$root" 0 offline-probe -- /audit --export /examples/acme --out /tmp/probe "${at[@]}" --log-format json --quiet
((SECONDS < 40)) || fail "offline-probe: the run took ${SECONDS}s with no network"
grep -q '"kind":"IMAGE_OUTSIDE_SCANNED_ORGANIZATION".*Anonymous registry probe: .*whether it is public is unknown' "$work/tmp-offline-probe/probe/findings.jsonl" ||
	fail "offline-probe: the image outside the organization is not reported unverified with the probe's failure"
say "offline-probe: finished in ${SECONDS}s; the image outside the organization stays unverified"
run_in_root "$root" 3 gaps -- /audit --export /examples-bad --out /tmp/out "${at[@]}" --log-format json --quiet
tail -n 1 "$work/gaps.stderr" | grep -q '"severity":"WARNING","message":"audit finished: incomplete"' ||
	fail "gaps: the last line is not the 'audit finished: incomplete' WARNING entry"
run_in_root "$root" 2 readonly -- /audit --export /examples/acme --out /out "${at[@]}" --log-format json --quiet
grep -q 'read-only file system' "$work/readonly.stderr" ||
	fail "readonly: writing outside /tmp did not fail with 'read-only file system'"
run_in_root "$root" 127 no-shell -- /bin/sh -c true
say "no shell in the root: /bin/sh cannot run there"

# 3. Lint the Dockerfile with both linters, pinned by .ci/dockerlint.
say "linting the Dockerfile"
lint="$cache/dockerlint"
if ! cmp -s .ci/dockerlint/package-lock.json "$lint/package-lock.json" || [[ ! -d "$lint/node_modules" ]]; then
	command -v npm >/dev/null || fail "npm not found (apt-get install npm)"
	rm -rf "$lint"
	mkdir -p "$lint"
	cp .ci/dockerlint/package.json .ci/dockerlint/package-lock.json "$lint/"
	(cd "$lint" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
issues="$("$lint/node_modules/.bin/dockerfile-utils" lint -j Dockerfile)" || true
[[ "$issues" == "[]" ]] || fail "dockerfile-utils: $issues"
"$lint/node_modules/.bin/dockerfilelint" Dockerfile >&2 || fail "dockerfilelint reported issues"
say "Dockerfile: dockerfile-utils and dockerfilelint report nothing"

# 4. Build the final stage with buildah.
if [[ "${SKIP_BUILDAH:-}" == 1 ]]; then
	say "SKIPPED the buildah build (SKIP_BUILDAH=1)"
	exit 0
fi
if ! command -v buildah >/dev/null; then
	say "installing buildah"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >&2
fi
B=(buildah --root "$work/storage" --runroot "$work/runroot" --storage-driver vfs)
base="$(sed -n 's/^FROM \([^ ]*\)$/\1/p' Dockerfile | tail -1)"
[[ -n "$base" ]] || fail "no final-stage FROM in the Dockerfile"
say "buildah: stand-in for $base holding only CA certificates and /tmp"
ctr="$("${B[@]}" from scratch)"
mnt="$("${B[@]}" mount "$ctr")"
[[ "$mnt" == "$work"/* ]] || fail "unexpected buildah mount point $mnt"
mkdir -p "$mnt/etc/ssl/certs" "$mnt/tmp"
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$mnt/tmp"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" commit -q --rm "$ctr" "$base" >/dev/null

# The build stage cannot run offline (its base is not here); the build
# context named "build" stands in for it with the binary built above at the
# path the final stage copies from.
mkdir -p "$work/build-stage/out"
cp "$bin" "$work/build-stage/out/audit"
"${B[@]}" bud --isolation chroot --pull=never --build-context build="$work/build-stage" \
	-t localhost/runaudit:container-check -f Dockerfile . >"$work/buildah.log" 2>&1 ||
	{
		cat "$work/buildah.log" >&2
		fail "buildah could not build the final stage"
	}
grep -q 'COMMIT localhost/runaudit:container-check' "$work/buildah.log" || fail "buildah did not commit the image"

# Go templates without a json function here: slices print as [a b].
user="$("${B[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' localhost/runaudit:container-check)"
entrypoint="$("${B[@]}" inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' localhost/runaudit:container-check)"
envs="$("${B[@]}" inspect --type image --format '{{.OCIv1.Config.Env}}' localhost/runaudit:container-check)"
[[ "$user" == 65532:65532 ]] || fail "image user is '$user', want 65532:65532"
[[ "$entrypoint" == "[/audit]" ]] || fail "image entrypoint is $entrypoint, want [/audit]"
[[ " ${envs:1:-1} " == *" AUDIT_OUT=/tmp/audit-out "* ]] || fail "image env $envs lacks AUDIT_OUT=/tmp/audit-out"
say "image config: user $user, entrypoint $entrypoint, env $envs"

# Run the image's root filesystem the way the runtime would: its user, its
# entrypoint and its environment, plus AUDIT_* as the job's configuration
# sets them (the output directory comes from the image's AUDIT_OUT).
buildah_ctr="$("${B[@]}" from --pull-never localhost/runaudit:container-check)"
img_root="$("${B[@]}" mount "$buildah_ctr")"
[[ "$img_root" == "$work"/* ]] || fail "unexpected buildah mount point $img_root"
files="$(cd "$img_root" && find . -mindepth 1 | sort | tr '\n' ' ')"
[[ "$files" == "./audit ./etc ./etc/ssl ./etc/ssl/certs ./etc/ssl/certs/ca-certificates.crt ./tmp " ]] ||
	fail "image root holds more than the binary, CA certificates and /tmp: $files"
read -r -a image_env <<<"${envs:1:-1}"
read -r -a image_cmd <<<"${entrypoint:1:-1}"
run_in_root "$img_root" 0 image "${image_env[@]}" \
	AUDIT_EXPORT=/examples/acme AUDIT_AT=2026-11-01T00:00:00Z AUDIT_LOG_FORMAT=json AUDIT_QUIET=true AUDIT_PROBE_PUBLIC_IMAGES=false \
	-- "${image_cmd[@]}"
check_outputs image audit-out
say "buildah: the final stage builds ($(du -sh "$img_root" | cut -f1) root) and its image runs the audit"
