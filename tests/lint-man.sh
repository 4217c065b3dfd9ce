#!/bin/sh
# `make lint-man`: every man page in man/ must pass `mandoc -T lint -W warning` without a single
# message. A page that is only a `.so` link to another page (hmctl-stop.1 -> hmctl-start.1) is
# not linted itself (mandoc always calls .so fragile); its target must exist and is linted.
set -u

cd "$(dirname "$0")/.."
if ! command -v mandoc >/dev/null 2>&1; then
	echo "lint-man: mandoc is not installed (apt-get install mandoc)" >&2
	exit 1
fi

status=0
count=0
for page in man/*.[0-9]; do
	[ -e "$page" ] || continue
	count=$((count + 1))
	first=$(sed -n '1p' "$page")
	case "$first" in
	.so\ *)
		lines=$(grep -c . "$page")
		target=man/$(basename "${first#.so }")
		if [ "$lines" != 1 ]; then
			echo "$page: a .so link must be the only line" >&2
			status=1
		elif [ ! -f "$target" ]; then
			echo "$page: .so target $target does not exist" >&2
			status=1
		fi
		continue
		;;
	esac
	out=$(mandoc -T lint -W warning "$page" 2>&1)
	if [ -n "$out" ]; then
		printf '%s\n' "$out" >&2
		status=1
	fi
done
if [ "$count" = 0 ]; then
	echo "lint-man: no man pages in man/" >&2
	exit 1
fi
[ "$status" = 0 ] && echo "lint-man: $count pages clean"
exit "$status"
