#!/bin/sh
# hmctl tui next to htop, both in tmux at a 1-second refresh, with hmsim serving 10,000 hosts:
# CPU time over 60 seconds (from /proc/PID/stat), peak RSS (VmHWM), and the time from a key
# press to the redrawn screen. Prints; never fails on a timing.
#
#   tests/bench/tui.sh ENV_FILE     ENV_FILE: the lab's env (LAB_CONF ...); BUILD as for run.sh
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HMCTL=$(pwd)/$BUILD/hmctl
HMSIM=$(pwd)/$BUILD/hmsim
WINDOW=${BENCH_TUI_SECONDS:-60}
. "$1"

dir=$(mktemp -d /tmp/hmctl-bench-tui.XXXXXX)
sock=hmctl-bench-tui-$$
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	[ -s "$dir/sim.pid" ] && kill "$(cat "$dir/sim.pid")" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

if ! command -v htop >/dev/null || ! command -v tmux >/dev/null; then
	echo "  skipped: needs htop and tmux"
	exit 0
fi

"$HMSIM" --port 0 --seed 7 --hosts 10000 --ready-file "$dir/ready" --cert-out "$dir/ca.pem" \
	>"$dir/sim.out" 2>"$dir/sim.err" &
echo $! >"$dir/sim.pid"
i=0
while [ ! -s "$dir/ready" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$dir/ready" ] || { echo "  skipped: hmsim did not start: $(cat "$dir/sim.err")"; exit 0; }
echo admin >"$dir/pw"
{
	sed -e "s|^data_dir = .*|data_dir = $dir/data|" "$LAB_CONF"
	printf '\n[console]\nurl = %s\nca_file = %s/ca.pem\npassword_file = %s/pw\ntimeout = 20s\n' \
		"$(cat "$dir/ready")" "$dir" "$dir"
} >"$dir/hmctl.conf"
chmod 600 "$dir/hmctl.conf"

tmux -L "$sock" -f /dev/null new-session -d -s tui -x 120 -y 40 \
	"exec env LC_ALL=C.UTF-8 TERM=screen $HMCTL -c $dir/hmctl.conf tui -i 1s"
tmux -L "$sock" new-session -d -s htop -x 120 -y 40 "exec env TERM=screen htop -d 10"
screen() { tmux -L "$sock" capture-pane -p -t "$1"; }

# ready once the first console read is shown
i=0
until screen tui | grep -q 'Hosts 10000'; do
	i=$((i + 1))
	if [ $i -gt 1200 ]; then
		echo "  skipped: the dashboard did not show 10,000 hosts in 120 s"
		screen tui | head -12
		exit 0
	fi
	sleep 0.1
done
sleep 5
tui_pid=$(tmux -L "$sock" list-panes -t tui -F '#{pane_pid}')
htop_pid=$(tmux -L "$sock" list-panes -t htop -F '#{pane_pid}')
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks "$tui_pid")
h0=$(ticks "$htop_pid")
sleep "$WINDOW"
t1=$(ticks "$tui_pid")
h1=$(ticks "$htop_pid")

# key to redraw: switch between Hosts (10,000 rows, sorted) and Events, and time until the
# pane shows the new screen; the figure includes tmux's own round trip
lat=""
for n in 1 2 3 4 5 6 7 8 9 10; do
	for k in 4 5; do
		[ "$k" = 4 ] && want=' Hosts ' || want=' Events '
		start=$(date +%s%N)
		tmux -L "$sock" send-keys -t tui "$k"
		j=0
		until screen tui | head -1 | grep -q "$want"; do
			j=$((j + 1))
			[ $j -gt 2000 ] && break
		done
		end=$(date +%s%N)
		lat="$lat $(((end - start) / 1000))"
	done
done
rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$tui_pid/status")
htop_rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$htop_pid/status")

echo "$t0 $t1 $h0 $h1 $hz $rss $htop_rss $WINDOW" | awk '{
	tc = ($2 - $1) / $5; hc = ($4 - $3) / $5
	printf "  hmctl tui  CPU %.2f s in %d s (%.2f%%)  peak RSS %.1f MB\n", tc, $8, tc / $8 * 100, $6 / 1024
	printf "  htop       CPU %.2f s in %d s (%.2f%%)  peak RSS %.1f MB\n", hc, $8, hc / $8 * 100, $7 / 1024
	printf "  idle CPU target <= htop: %s;  RSS target < 32 MB: %s\n", (tc <= hc ? "met" : "NOT met"), ($6 < 32768 ? "met" : "NOT met")
}'
echo "$lat" | tr ' ' '\n' | awk 'NF' | sort -n | awk '{ v[NR] = $1 } END {
	printf "  key to redraw (Hosts <-> Events, 10,000 hosts, %d presses): median %.1f ms, max %.1f ms (target < 50 ms)\n",
		NR, v[int((NR + 1) / 2)] / 1000, v[NR] / 1000
}'
