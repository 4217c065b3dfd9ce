#!/bin/sh
# Run the cmocka unit test binaries given as arguments (`make unit`) and print one summary line,
# "N passed, N failed", over all of them. Exit non-zero if any test failed.
set -eu

passed=0
failed=0
# cmocka's own format on stdout; an inherited CMOCKA_MESSAGE_OUTPUT (xml, tap) would defeat
# the parsing below.
CMOCKA_MESSAGE_OUTPUT=stdout
export CMOCKA_MESSAGE_OUTPUT
unset CMOCKA_XML_FILE 2>/dev/null || true

out=$(mktemp)
trap 'rm -f "$out"' EXIT

for bin in "$@"; do
	rc=0
	"$bin" >"$out" 2>&1 || rc=$?
	cat "$out"
	# cmocka ends each group with "[  PASSED  ] N test(s)." and, when some failed,
	# "[  FAILED  ] N test(s), listed below:".
	p=$(awk '/^\[  PASSED  \] [0-9]+ test/ { s += $4 } END { print s + 0 }' "$out")
	f=$(awk '/^\[  FAILED  \] [0-9]+ test/ { s += $4 } END { print s + 0 }' "$out")
	# A binary that crashed, or failed in a sanitizer after its tests, exits non-zero without
	# counting a failure: count it as one, so it cannot pass unnoticed.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "run-unit: $bin exited with status $rc" >&2
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
