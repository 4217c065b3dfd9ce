#!/bin/sh
# make bench, reports: hmsim with 10,000 hosts and 1,000,000 jobs; `hmctl report sync-detail
# --format xlsx` over the whole history next to /usr/bin/python3 + openpyxl in write-only mode
# writing the same rows from the same API JSON (tests/bench/report_openpyxl.py). Both read the
# same simulator, one after the other. Prints wall time, CPU time and peak RSS of each and the
# ratios; never fails on a timing.
#
# BENCH_REPORT_HOSTS, BENCH_REPORT_JOBS and BENCH_REPORT_PAGE_SIZE change the sizes;
# BENCH_REPORT_PY_LOAD=1 also times openpyxl converting pages saved on disk (no fetching).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HMCTL=$(pwd)/$BUILD/hmctl
HMSIM=$(pwd)/$BUILD/hmsim
HOSTS=${BENCH_REPORT_HOSTS:-10000}
JOBS=${BENCH_REPORT_JOBS:-1000000}
PAGE=${BENCH_REPORT_PAGE_SIZE:-5000}
PY=/usr/bin/python3

if ! "$PY" -c 'import openpyxl' 2>/dev/null; then
	echo "reports bench skipped: python3-openpyxl is not installed (make deps)"
	exit 0
fi

dir=$(mktemp -d /tmp/hmctl-bench-report.XXXXXX)
simpid=""
cleanup() {
	if [ -n "$simpid" ]; then
		kill "$simpid" 2>/dev/null || true
		wait "$simpid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

echo
echo "== hmctl report sync-detail --format xlsx vs python3 + openpyxl (write-only)"
echo "starting hmsim with $HOSTS hosts and $JOBS jobs ..."
# --speed 0.0001: no live job finishes or starts while the two read the history
"$HMSIM" --port 0 --seed 3 --hosts "$HOSTS" --jobs "$JOBS" --speed 0.0001 \
	--ready-file "$dir/ready" --cert-out "$dir/ca.pem" >"$dir/sim.out" 2>"$dir/sim.err" &
simpid=$!
i=0
while [ ! -s "$dir/ready" ]; do
	i=$((i + 1))
	if [ "$i" -gt 600 ] || ! kill -0 "$simpid" 2>/dev/null; then
		echo "hmsim did not start: $(cat "$dir/sim.err")" >&2
		exit 1
	fi
	sleep 0.1
done
url=$(cat "$dir/ready")
echo admin >"$dir/pw"
chmod 600 "$dir/pw"
cat >"$dir/hmctl.conf" <<EOF
[hmctl]
data_dir = $dir/data
[console]
url = $url
ca_file = $dir/ca.pem
password_file = $dir/pw
page_size = $PAGE
timeout = 120s
EOF

now=$(date -u +%s)
to=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
from=$(date -u -d "@$((now - 91 * 86400))" +%Y-%m-%dT%H:%M:%SZ)

# time_of LABEL CMD...: runs CMD under GNU time; leaves "wall user sys maxrss_kb" in $dir/LABEL
time_of() {
	label=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$dir/$label" "$@" >"$dir/$label.out" 2>"$dir/$label.err" || {
		echo "$label failed:" >&2
		cat "$dir/$label.err" >&2
		exit 1
	}
}

# rows in the first sheet of an XLSX file, header excluded
xlsx_rows() {
	unzip -p "$1" xl/worksheets/sheet1.xml | grep -o '<row ' | wc -l | awk '{ print $1 - 1 }'
}

echo "hmctl: sync-detail $from .. $to (Asia/Shanghai), page size $PAGE ..."
time_of hmctl "$HMCTL" -c "$dir/hmctl.conf" report sync-detail --format xlsx \
	--from "$from" --to "$to" --tz Asia/Shanghai -o "$dir/hmctl.xlsx"
echo "python3 + openpyxl: the same rows from the same API ..."
mkdir -p "$dir/pages"
save=""
[ "${BENCH_REPORT_PY_LOAD:-0}" = 1 ] && save="--save $dir/pages"
# shellcheck disable=SC2086 # $save is empty or two words
time_of python "$PY" tests/bench/report_openpyxl.py --url "$url" --ca "$dir/ca.pem" \
	--from "$from" --to "$to" --tz Asia/Shanghai --page-size "$PAGE" --out "$dir/python.xlsx" $save
if [ -n "$save" ]; then
	echo "python3 + openpyxl: converting the saved pages alone ..."
	time_of pyload "$PY" tests/bench/report_openpyxl.py --load "$dir/pages" \
		--from "$from" --to "$to" --tz Asia/Shanghai --out "$dir/pyload.xlsx"
fi

h_rows=$(xlsx_rows "$dir/hmctl.xlsx")
p_rows=$(xlsx_rows "$dir/python.xlsx")
h_size=$(stat -c %s "$dir/hmctl.xlsx")
p_size=$(stat -c %s "$dir/python.xlsx")

show() {
	# label file rows size
	awk -v l="$1" -v r="$3" -v s="$4" '{
		printf "  %-22s wall %7.1f s  cpu %7.1f s  peak RSS %6.1f MB  %d rows, %.1f MB\n",
			l, $1, $2 + $3, $4 / 1024, r, s / 1048576 }' "$2"
}
show "hmctl" "$dir/hmctl" "$h_rows" "$h_size"
show "python3 + openpyxl" "$dir/python" "$p_rows" "$p_size"
[ -n "$save" ] && show "openpyxl, saved pages" "$dir/pyload" "$(xlsx_rows "$dir/pyload.xlsx")" \
	"$(stat -c %s "$dir/pyload.xlsx")"
[ "$h_rows" = "$p_rows" ] || echo "  NOTE: the row counts differ ($h_rows vs $p_rows)"
paste "$dir/hmctl" "$dir/python" | awk '{
	hw = $1; hc = $2 + $3; hr = $4; pw = $5; pc = $6 + $7
	printf "  ratio python/hmctl wall time: %.1fx (target >= 10x: %s)\n", pw / hw, pw / hw >= 10 ? "met" : "NOT met"
	printf "  ratio python/hmctl CPU time:  %.1fx\n", pc / hc
	printf "  hmctl peak RSS %.1f MB (target < 64 MB: %s)\n", hr / 1024, hr < 65536 ? "met" : "NOT met"
}'
echo "  (both wall times include hmsim producing the JSON; the machine's load moves them)"
