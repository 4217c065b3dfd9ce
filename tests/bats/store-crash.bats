#!/usr/bin/env bats
# Crash safety of the store: a writer appending as fast as it can is killed with SIGKILL at
# random moments, 100 times over the same database; after every kill the database must pass
# PRAGMA integrity_check and hold every sample the writer had seen committed, each with the
# right value. Needs no lab.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	TOOL=${HMTOOLS:-$ROOT/build/tools}/tsdb-tool
	[ -x "$TOOL" ] || fail "no $TOOL (make bats builds it)"
}

@test "store: kill -9 during heavy appends, 100 times: integrity_check ok, no committed sample lost" {
	local db=$BATS_TEST_TMPDIR/crash.db out=$BATS_TEST_TMPDIR/out i pid rc got
	local committed=0 killed=0
	for i in $(seq 100); do
		: >"$out"
		"$TOOL" write "$db" 400 >"$out" 2>"$BATS_TEST_TMPDIR/err" &
		pid=$!
		# anywhere from opening the file to deep into the appends, sealing and maintenance
		sleep "0.$(printf '%03d' $((RANDOM % 300 + 5)))"
		kill -KILL "$pid" 2>/dev/null || true
		rc=0
		wait "$pid" || rc=$?
		if [ "$rc" -eq 137 ]; then
			killed=$((killed + 1))
		elif [ "$rc" -ne 0 ]; then
			fail "run $i: the writer failed ($rc): $(cat "$BATS_TEST_TMPDIR/err")"
		fi
		got=$(tail -n 1 "$out" | awk '$1 == "committed" { print $2 }')
		[ -n "$got" ] && committed=$got
		run "$TOOL" check "$db" "$committed"
		[ "$status" -eq 0 ] || fail "after kill $i (committed $committed): $output"
	done
	echo "# $killed of 100 writers killed mid-run; $committed time stamps x 50 series committed" >&3
	# most writers must really have been killed while writing, or the test proves nothing
	[ "$killed" -ge 50 ] || fail "only $killed writers were killed before they finished"
	[ "$committed" -gt 0 ] || fail "no batch was ever committed"
}
