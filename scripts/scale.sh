#!/usr/bin/env bash
# scale.sh — the reproducible scale run behind docs/scale.md and the
# README's Scale table.
#
# For each size it generates a synthetic organization with cmd/genorg
# (SERVICES services and JOBS jobs per project, PROJECT_BINDINGS and
# RESOURCE_BINDINGS role bindings per project and per service or job; one
# folder per 100 projects), then runs, one after the other under
# /usr/bin/time -v:
#
#   bound   internal/scan/bound: a plain parallel encoding/json decode of the
#           same export, keeping nothing (the yardstick);
#   audit   audit --export DIR, every local output written (workbook too);
#   export  (EXPORT_ASSETS=1) audit --org … --collect export against
#           cmd/caifake with its in-process fake Cloud Storage: the client
#           side of the ExportAssets mode (the fake's own export time is not
#           the real service's and is left out of the figures).
#
# It prints wall time, CPU (user + system), peak RSS, the ratios audit/bound,
# KB of peak RSS and CPU milliseconds per service or job, whether the
# actionable findings number the planted ones, and the ListAssets calls a
# live run would make, with their duration at QPM calls a minute. It ends
# with issue 13's goals: each size's median over its runs of CPU × bound,
# KB a service (also above the fixed cost, the audit's peak RSS on a
# 10-project organization) and CPU a service, and how far the sizes' CPU a
# service lie apart.
#
#   bash scripts/scale.sh                         # 5,000, 10,000 and 20,000 projects
#   SIZES="5000 20000 100000" bash scripts/scale.sh
#   SIZES=20000 RUNS=3 EXPORT_ASSETS=1 bash scripts/scale.sh
#
# Environment: SIZES (projects, space-separated; default "5000 10000 20000"
# (the issue's goals name 10,000 and 100,000 projects), a few
# minutes on 2 cores; 100000 needs ~6 GB of memory and ~1.5 GB of disk),
# RUNS (runs per program and size, default 1), WORK (default
# /tmp/runaudit-scale; organizations are kept there and reused), QPM
# (default 100, the per-project ListAssets quota), EXPORT_ASSETS (0 or 1).
# The table is also written to $WORK/scale-TIMESTAMP.md. The machine's
# load average is printed with each run: on a shared machine it moves the
# wall times, so compare CPU seconds as well.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"5000 10000 20000"}
RUNS=${RUNS:-1}
WORK=${WORK:-/tmp/runaudit-scale}
QPM=${QPM:-100}
EXPORT_ASSETS=${EXPORT_ASSETS:-0}
SERVICES=${SERVICES:-4}
JOBS=${JOBS:-1}
PROJECT_BINDINGS=${PROJECT_BINDINGS:-20}
RESOURCE_BINDINGS=${RESOURCE_BINDINGS:-6}
ORG=100000000001

if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -q time >/dev/null
	else
		echo "scale.sh: GNU time is missing: sudo apt-get install time" >&2
		exit 2
	fi
fi

mkdir -p "$WORK/bin"
echo "building into $WORK/bin …" >&2
# The audit is built as the Dockerfile builds it (-tags disable_grpc_modules).
go build -tags disable_grpc_modules -o "$WORK/bin/" ./cmd/genorg ./cmd/audit ./cmd/caifake ./internal/scan/bound

# measure LABEL CMD… runs CMD under /usr/bin/time -v and sets WALL, CPU
# (seconds) and RSS (kB); CMD's stdout is kept in $WORK/LABEL.out, its
# stderr in $WORK/LABEL.err.
measure() {
	local label=$1
	shift
	local code=0
	/usr/bin/time -v -o "$WORK/$label.time" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || code=$?
	if [ "$code" != 0 ]; then
		echo "scale.sh: $label exited $code; its stderr ends:" >&2
		tail -n 20 "$WORK/$label.err" >&2
		exit 1
	fi
	WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$WORK/$label.time")
	CPU=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' "$WORK/$label.time")
	RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$label.time")
}

load() { cut -d' ' -f1 /proc/loadavg; }
finalSeconds() { grep '"audit finished' "$1" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' | awk '{printf "%.2f", $1}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }

# The fixed cost: the audit's peak RSS on a 10-project organization (the
# executable's pages, the runtime, the libraries' init), which every run
# pays whatever its size.
tiny="$WORK/org10"
rm -rf "$tiny"
"$WORK/bin/genorg" --projects 10 --folders 1 --out "$tiny" >/dev/null 2>&1
rm -rf "$WORK/out10"
measure fixed "$WORK/bin/audit" --export "$tiny/export" --out "$WORK/out10" --log-format json --quiet
fixed=$RSS

stamp=$(date -u +%Y%m%dT%H%M%SZ)
report="$WORK/scale-$stamp.md"
{
	echo "scale run $stamp on $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "genorg --services $SERVICES --jobs $JOBS --project-bindings $PROJECT_BINDINGS --resource-bindings $RESOURCE_BINDINGS, one folder per 100 projects"
	echo "fixed cost: the audit peaks at $(mib "$fixed") MiB RSS on a 10-project organization"
	echo
	echo "| projects | services + jobs | bindings | export MB | program | run | load | wall s | CPU s | peak RSS MiB | final log s | wall × bound | CPU × bound | KB per service | CPU ms per 1k services | actionable = planted | API calls |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$report"

# row PROGRAM FINAL SAME CALLS prints one table row from WALL, CPU, RSS.
row() {
	echo "| $n | $runs | $bindings | $mb | $1 | $run | $la | $WALL | $CPU | $(mib "$RSS") | $2 | $(ratio "$WALL" "$bwall") | $(ratio "$CPU" "$bcpu") | $(awk -v r="$RSS" -v n="$runs" 'BEGIN {printf "%.1f", r / n}') | $(awk -v c="$CPU" -v n="$runs" 'BEGIN {printf "%.0f", c * 1e6 / n}') | $3 | $4 |" | tee -a "$report"
}

goals=$(mktemp)
medians=$(mktemp)
trap 'rm -f "$goals" "$medians"' EXIT

# services ORG prints the services and jobs genorg made in ORG.
services() { awk '/"services"/ {s = $2} /"jobs"/ {j = $2} END {gsub(",", "", s); gsub(",", "", j); print s + j}' "$1/stats.json"; }

for n in $SIZES; do
	org="$WORK/org$n"
	args=(--projects "$n" --folders "$((n / 100 > 0 ? n / 100 : 1))" --services "$SERVICES" --jobs "$JOBS" --project-bindings "$PROJECT_BINDINGS" --resource-bindings "$RESOURCE_BINDINGS")
	# An organization is reused only if the same generator made it with
	# the same arguments: a changed generator plants other findings.
	stamp="${args[*]} genorg=$(sha256sum "$WORK/bin/genorg" | cut -c1-16)"
	if [ ! -s "$org/stats.json" ] || [ "$(cat "$org/args" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$org"
		echo "generating $n projects …" >&2
		"$WORK/bin/genorg" "${args[@]}" --out "$org" >&2
		echo "$stamp" >"$org/args"
	fi
	runs=$(services "$org")
	bindings=$(awk '/"bindings"/ {b = $2} END {gsub(",", "", b); print b}' "$org/stats.json")
	planted=$(wc -l <"$org/expected.jsonl")
	mb=$(du -sm "$org/export" | cut -f1)
	for run in $(seq 1 "$RUNS"); do
		la=$(load)
		measure bound "$WORK/bin/bound" "$org/export"
		bwall=$WALL bcpu=$CPU
		calls=$(sed -n 's/.*"list_assets_calls":\([0-9]*\).*/\1/p' "$WORK/bound.out")
		# At QPM calls a minute: a burst of max(1, QPM/60), then the rest
		# at (QPM − burst)/60 a second, as the pacer does.
		minutes=$(awk -v c="$calls" -v q="$QPM" 'BEGIN {b = int(q / 60); if (b < 1) b = 1; s = (c > b) ? (c - b) / ((q - b) / 60) : 0; printf "%.1f", s / 60}')
		row "bound" "" "" "live ListAssets would make $calls ($minutes min at $QPM/min)"

		la=$(load)
		rm -rf "$WORK/out$n"
		measure audit "$WORK/bin/audit" --export "$org/export" --out "$WORK/out$n" --log-format json --quiet
		final=$(finalSeconds "$WORK/audit.err")
		actionable=$(grep -cE '"kind":"(DEPLOYER_CANNOT_READ_IMAGE|SERVICE_AGENT_CANNOT_READ_IMAGE|REMOTE_REPO_SECRET_INACCESSIBLE)"' "$WORK/out$n/findings.jsonl" || true)
		same="no ($actionable of $planted)"
		[ "$actionable" = "$planted" ] && same="yes ($planted)"
		row "audit --export" "$final" "$same" "0"
		# For the goals' summary: size, CPU ms per 1,000 services, KB per
		# service, CPU × bound.
		echo "$n $(awk -v c="$CPU" -v n="$runs" 'BEGIN {printf "%.2f", c * 1e6 / n}') $(awk -v r="$RSS" -v n="$runs" 'BEGIN {printf "%.2f", r / n}') $(awk -v a="$CPU" -v b="$bcpu" 'BEGIN {printf "%.3f", a / b}')" >>"$goals"

		if [ "$EXPORT_ASSETS" = 1 ]; then
			"$WORK/bin/caifake" --listen 127.0.0.1:0 --gcs-listen 127.0.0.1:0 --export-bucket runaudit-staging "$org/export" >"$WORK/caifake.out" 2>&1 &
			fake=$!
			for _ in $(seq 1 600); do
				grep -q CLOUDASSET_EMULATOR_HOST= "$WORK/caifake.out" && break
				sleep 0.5
			done
			asset_host=$(sed -n 's/.*CLOUDASSET_EMULATOR_HOST=\(.*\)$/\1/p' "$WORK/caifake.out")
			gcs_host=$(sed -n 's/.*STORAGE_EMULATOR_HOST=\(.*\)$/\1/p' "$WORK/caifake.out")
			rm -rf "$WORK/outx$n"
			la=$(load)
			measure export env CLOUDASSET_EMULATOR_HOST="$asset_host" STORAGE_EMULATOR_HOST="$gcs_host" "$WORK/bin/audit" --org "$ORG" \
				--collect export --export-staging "gs://runaudit-staging/scale-$stamp-$run" --out "$WORK/outx$n" --log-format json --quiet
			kill "$fake"
			wait "$fake" 2>/dev/null || true
			final=$(finalSeconds "$WORK/export.err")
			# The fake's own export time is not the real service's: say
			# how much of the wall time was spent waiting for it.
			waited=$(grep '"ExportAssets read"' "$WORK/export.err" | sed -n 's/.*"export_seconds":\([0-9.]*\).*/\1/p' | sort -n | tail -1)
			xcalls=$(grep '"collected live"' "$WORK/export.err" | sed -n 's/.*"api_calls":\([0-9]*\).*/\1/p')
			xsame="no: findings differ from --export"
			cmp -s "$WORK/outx$n/findings.jsonl" "$WORK/out$n/findings.jsonl" && xsame="$same, identical"
			row "audit --collect export (fake; $(awk -v w="$waited" 'BEGIN {printf "%.1f", w}') s of it waiting for the fake's export)" "$final" "$xsame" "$xcalls"
		fi
	done
done

# The issue's goals, from the audit --export rows: each size's median over
# its runs (the machine's speed moves single runs by 10-15 %), then how far
# the sizes' CPU per service lie apart (max / min − 1).
{
	echo
	echo "goals (audit --export, median of $RUNS run(s) a size): CPU × bound ≤ 2.5, peak ≤ 4.5 KB a service, CPU a service flat within 15 %"
	echo
	echo "| projects | CPU × bound | KB per service | KB per service above the fixed $(mib "$fixed") MiB | CPU ms per 1k services |"
	echo "|---|---|---|---|---|"
	for n in $SIZES; do
		awk -v n="$n" -v fixed="$fixed" -v runs="$(services "$WORK/org$n")" -v medians="$medians" '
			function median(a, k,   i, j, t) {
				for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
				return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
			}
			$1 == n {c[++k] = $2; m[k] = $3; r[k] = $4}
			END {
				mm = median(m, k); mc = median(c, k)
				printf "| %s | %.2f | %.1f | %.1f | %.1f |\n", n, median(r, k), mm, mm - fixed / runs, mc
				print mc >>medians
			}' "$goals"
	done
	awk 'NR == 1 || $1 < lo {lo = $1} $1 > hi {hi = $1} END {
		if (lo > 0) printf "\nCPU per service: the sizes\x27 medians lie within %.0f %% of each other (max / min − 1)\n", (hi / lo - 1) * 100
		else printf "\nCPU per service: too small to measure at some size\n"
	}' "$medians"
} | tee -a "$report"
echo >&2
echo "written to $report" >&2
