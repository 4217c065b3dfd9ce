# Starting and stopping hmsim for a test file: `load hmsim`, then `start_sim DIR [hmsim options]`
# (it listens on a free port of 127.0.0.1; DIR/ready holds its URL, DIR/ca.pem its certificate)
# and `stop_sim DIR` in the teardown.

HMSIM=${HMSIM:-$BATS_TEST_DIRNAME/../../build/hmsim}

start_sim() {
	local dir=$1
	shift
	mkdir -p "$dir"
	"$HMSIM" --port 0 --ready-file "$dir/ready" --cert-out "$dir/ca.pem" --pid-file "$dir/pid" \
		"$@" >"$dir/out" 2>"$dir/err" 3>&- &
	echo $! >"$dir/bgpid"
	local i
	for i in $(seq 600); do
		[ -s "$dir/ready" ] && return 0
		kill -0 "$(cat "$dir/bgpid")" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/err" >&2
	return 1
}

stop_sim() {
	local dir=$1 pid i
	[ -f "$dir/bgpid" ] || return 0
	pid=$(cat "$dir/bgpid")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dir/bgpid"
	# under ASan/UBSan a finding is only visible in the simulator's own stderr
	if grep -q 'Sanitizer' "$dir/err" 2>/dev/null; then
		cat "$dir/err" >&2
		return 1
	fi
}
