#!/bin/sh
# `make bats`: start a lab, run every tests/bats/*.bats against the built binaries in $BUILD,
# stop the lab whatever happens, and exit with bats' status.
set -eu

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case "$BUILD" in
/*) ;;
*) BUILD=$(pwd)/$BUILD ;;
esac

LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hmctl-lab.XXXXXX")
export LAB_DIR
HMCTL=$BUILD/hmctl
HMSIM=$BUILD/hmsim
HMTOOLS=$BUILD/tools # tests/tools programs
export HMCTL HMSIM HMTOOLS

# Always stop the lab, also on Ctrl-C; the directory goes only once nothing is mounted below it.
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	tests/lab/lab.sh down "$LAB_DIR" || true
	if ! grep -q " $LAB_DIR/" /proc/self/mounts; then
		rm -rf "$LAB_DIR"
	else
		echo "run-bats: $LAB_DIR still has mounts; left in place" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tests/lab/lab.sh up "$LAB_DIR"

status=0
bats --print-output-on-failure tests/bats || status=$?
exit "$status"
