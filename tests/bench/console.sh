#!/bin/sh
# Console API: fetching 10,000 hosts from hmsim. hmctl (one keep-alive connection, paging until
# total) next to a sequential curl loop over the same pages; wall time and peak RSS.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HMCTL=$(pwd)/$BUILD/hmctl
HMSIM=$(pwd)/$BUILD/hmsim
RUNS=${BENCH_RUNS:-10}
dir=$(mktemp -d /tmp/hmctl-bench-console.XXXXXX)
trap '[ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
"$HMSIM" --port 0 --seed 42 --hosts 10000 --cert-out "$dir/ca.pem" --ready-file "$dir/ready" \
	--pid-file "$dir/pid" >"$dir/log" 2>&1 &
i=0
while [ ! -s "$dir/ready" ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
url=$(cat "$dir/ready")
umask 077
echo admin >"$dir/password"
cat >"$dir/hmctl.conf" <<CONF
[hmctl]
data_dir = $dir/data
[console]
url = $url
password_file = $dir/password
ca_file = $dir/ca.pem
CONF

# The same pages, one curl process per request, as a script would fetch them.
cat >"$dir/curl-loop.sh" <<'SH'
#!/bin/sh
url=$1 ca=$2
token=$(curl -s --cacert "$ca" -H 'Content-Type: application/json' \
	-d '{"username":"admin","password":"admin"}' "$url/users/token" | jq -r .token)
page=1
while :; do
	body=$(curl -s --cacert "$ca" -H "X-AUTH-TOKEN: $token" "$url/hosts?page=$page&page_size=100")
	total=$(printf '%s' "$body" | jq .total)
	[ $((page * 100)) -ge "$total" ] && break
	page=$((page + 1))
done
SH
n=$("$HMCTL" -c "$dir/hmctl.conf" hosts --json | jq length)
echo
echo "== fetching $n hosts from hmsim: hmctl hosts --json vs a sequential curl loop (page_size 100)"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$dir/console.json" \
	"$HMCTL -c $dir/hmctl.conf hosts --json" "sh $dir/curl-loop.sh $url $dir/ca.pem" >/dev/null 2>&1
rss=$(/usr/bin/time -f '%M' "$HMCTL" -c "$dir/hmctl.conf" hosts --json 2>&1 >/dev/null | tail -n 1)
jq -r --arg rss "$rss" '
	.results as $r | ($r[0].mean * 1000) as $h | ($r[1].mean * 1000) as $c |
	"  hmctl hosts --json  mean \($h | floor) ms  peak RSS \($rss | tonumber / 1024 * 10 | floor / 10) MB",
	"  curl loop           mean \($c | floor) ms",
	"  ratio hmctl/curl loop: \($h / $c * 100 | floor / 100)  (target <= 1)",
	"  hmctl peak RSS target < 64 MB: \(if ($rss | tonumber) < 65536 then "met" else "NOT met" end)"' "$dir/console.json"
