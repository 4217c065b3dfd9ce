#!/usr/bin/env bats
# hmctl tui in a real terminal (tmux): what a person sees on the screen, and how it ends.
# Each test uses its own tmux server (-L) and kills it in teardown.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

setup() {
	HMCTL=$(realpath "${HMCTL:-$BATS_TEST_DIRNAME/../../build/hmctl}")
	D=$BATS_TEST_TMPDIR
	SOCK="hmctl-test-$$-$BATS_TEST_NUMBER"
	mkdir -p "$D/data" "$D/logs" "$D/prog/bin"
	# Known sizes: 40 KiB of logs, 8 KiB of program, written (not sparse) so du counts them.
	head -c 40960 /dev/zero > "$D/logs/console.log"
	head -c 8192 /dev/zero > "$D/prog/bin/tool"
	# A loopback port nobody listens on: bound by the kernel for us, then released.
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	CONF="$D/hmctl.conf"
	cat > "$CONF" <<-EOT
	[hmctl]
	data_dir = $D/data
	interval = 1s
	timeout = 1s
	[installer]
	log_dirs = $D/logs
	program_dir = $D/prog
	[docker]
	socket = $D/no-such-docker.sock
	[rabbitmq]
	enabled = no
	[mariadb]
	enabled = no
	[redis]
	enabled = no
	[influxdb]
	enabled = no
	[port "console"]
	address = 127.0.0.1:$PORT
	tls = no
	EOT
	chmod 600 "$CONF"
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	if [ -s "$D/listener.pid" ]; then kill "$(cat "$D/listener.pid")" 2>/dev/null || true; fi
}

# Starts `hmctl tui ARGS` in an 80x24 tmux pane; ENV (e.g. "NO_COLOR=1") goes before it.
# The exit status lands in $D/rc when the process ends.
tui_start() {
	local env=${ENV:-}
	tmux -L "$SOCK" -f /dev/null new-session -d -x 80 -y 24 \
		"env -u NO_COLOR LC_ALL=${LOCALE:-C.UTF-8} TERM=screen $env '$HMCTL' -c '$CONF' tui $*; echo \$? > '$D/rc'; sleep 600"
}

screen() {
	tmux -L "$SOCK" capture-pane -p "$@"
}

# Waits up to 30 s (a loaded machine, a sanitizer build) for an extended regexp to appear.
wait_for() {
	for _ in $(seq 300); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "timed out waiting for /$1/; the screen was:" >&2
	screen >&2
	return 1
}

# The Overview is up once its first cycle drew the tiles.
wait_ready() {
	wait_for 'Disk [0-9]+/[0-9]+ up'
}

wait_gone() {
	for _ in $(seq 100); do
		screen | grep -Eq -- "$1" || return 0
		sleep 0.1
	done
	echo "/$1/ still on the screen:" >&2
	screen >&2
	return 1
}

wait_exit() {
	for _ in $(seq "${1:-100}"); do
		[ -s "$D/rc" ] && return 0
		sleep 0.1
	done
	echo "hmctl tui did not exit; the screen was:" >&2
	screen >&2
	return 1
}

# Prints the SGR sequences of the colored screen that set a colour (30-37, 38;..., 40-47,
# 48;..., 90-97, 100-107); 39/49 only reset to the default and are not a colour.
color_sgrs() {
	screen -e | grep -ao $'\e\[[0-9;]*m' | tr -d '\033[m' | awk -F';' '{
		for (i = 1; i <= NF; i++) {
			n = $i + 0
			if ($i == "38" || $i == "48") { print; next }
			if ((n >= 30 && n <= 37) || (n >= 40 && n <= 47) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107)) { print; next }
		}
	}'
}

@test "without a terminal tui exits 1 and points to status" {
	run bash -c "'$HMCTL' -c '$CONF' tui < /dev/null > '$D/out'"
	assert_failure 1
	assert_output "hmctl: tui needs a terminal; use 'hmctl status'"
	[ ! -s "$D/out" ]
}

@test "a bad interval or count is a usage error" {
	run "$HMCTL" -c "$CONF" tui -i soon
	assert_failure 2
	assert_output --partial "invalid interval 'soon'"
	run "$HMCTL" -c "$CONF" tui -n 0
	assert_failure 2
	assert_output --partial "invalid count '0'"
}

@test "the Overview shows the title, the tabs, the meters and the tiles at 80x24; Enter lists every component" {
	tui_start -i 1s
	wait_ready
	run --keep-empty-lines screen
	assert_equal "$(screen | wc -l)" 24
	assert_line --index 0 --regexp '^ hmctl [0-9]+\.[0-9]+\.[0-9]+ +.+ +Overview +(OK|WARNING|UNKNOWN|CRITICAL) +updated [0-9]{2}:[0-9]{2}:[0-9]{2}$'
	assert_line --index 1 --regexp '^ 1 Overview +2 Services +3 Remote +4 Hosts +5 Alerts +6 Events +7 Drill *$'
	assert_line --index 2 --regexp '^ CPU \[[| ]+\] +([0-9.]+%|n/a) +Mem \[[| ]+\] +[0-9.]+% +Disk \[[| ]+\] +[0-9.]+%$'
	# the last hour under each meter
	assert_line --index 3 --regexp '^ 1h .* 1h .* 1h '
	assert_line --regexp '✖ Services unreachable +● Disk 3/3 up +✖ Port console closed'
	assert_line --regexp 'no console configured'
	assert_line --index 23 --regexp '^Enter Details  \? Help  r Refresh  Tab Next  q Quit'
	tmux -L "$SOCK" send-keys Enter
	wait_for 'Log space'
	run --keep-empty-lines screen
	assert_line --regexp "^ Log space +4[0-9]K +$D/logs 4[0-9]K$"
	assert_line --regexp '^ Program space +[0-9]+K '
	assert_line --regexp '^ Free disk +[0-9.]+[KMGT] +.* free of '
	assert_line --regexp '^ COMPONENT +STATE +DETAIL$'
	assert_line --regexp '^ host +(ok|warning|critical) +cpu '
	assert_line --index 23 --regexp '^Enter Details  ↑↓ Scroll  \? Help  r Refresh  Tab Next  q Quit'
	# nothing wider than the terminal
	[ "$(screen | wc -L)" -le 80 ]
}

@test "the closed console port is marked closed and critical" {
	if ! "$HMCTL" -c "$CONF" status --json | jq -e '.components[] | select(.kind == "port")' > /dev/null; then
		skip "this build has no port collector"
	fi
	run bash -c "'$HMCTL' -c '$CONF' status --json | jq -r '.components[] | select(.kind == \"port\") | .state'"
	assert_output critical
	tui_start -i 1s
	wait_ready
	tmux -L "$SOCK" send-keys Enter
	wait_for '^ Port console'
	run --keep-empty-lines screen
	assert_line --regexp "^ Port console +closed +127\.0\.0\.1:$PORT"
	# In colour, "closed" is drawn in the critical colour (red).
	run bash -c "tmux -L '$SOCK' capture-pane -p -e | grep -a 'Port console'"
	assert_output --regexp $'\e\\[[0-9;]*31[0-9;]*mclosed'
}

@test "data older than two intervals is marked stale with its age" {
	if ! "$HMCTL" -c "$CONF" status --json | jq -e '.components[] | select(.kind == "port")' > /dev/null; then
		skip "this build has no port collector"
	fi
	# A listener that accepts and never answers: each TLS handshake takes the whole
	# [hmctl] timeout (3 s), far longer than two 300 ms intervals.
	python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' > "$D/listener.port" &
	echo $! > "$D/listener.pid"
	for _ in $(seq 50); do [ -s "$D/listener.port" ] && break; sleep 0.1; done
	sed -i "s/^address = .*/address = 127.0.0.1:$(cat "$D/listener.port")/; s/^tls = no/tls = yes/; s/^timeout = 1s/timeout = 3s/" "$CONF"
	tui_start -i 300ms
	wait_for 'STALE [0-9]+s old \([0-9]{2}:[0-9]{2}:[0-9]{2}\)$'
	run --keep-empty-lines screen
	assert_line --index 0 --regexp ' CRITICAL +STALE [0-9]+s old '
}

@test "? opens the help overlay with every key of the screen; any key closes it" {
	tui_start -i 1s
	wait_ready
	tmux -L "$SOCK" send-keys Enter
	wait_for 'Log space'
	tmux -L "$SOCK" send-keys '?'
	wait_for 'Keys on Overview'
	run --keep-empty-lines screen
	assert_line --regexp '^ .*Enter +show or hide every component'
	assert_line --regexp '^ .*Esc +back to the tiles'
	assert_line --regexp '^ .*↑/k +scroll up one line'
	assert_line --regexp '^ .*↓/j +scroll down one line'
	assert_line --regexp '^ .*PgUp +scroll up one page'
	assert_line --regexp '^ .*PgDn/Space +scroll down one page'
	assert_line --regexp '^ .*Home/g +go to the first line'
	assert_line --regexp '^ .*End/G +go to the last line'
	assert_line --regexp '^ .*\?/F1 +show this help'
	assert_line --regexp '^ .*r/F5 +read every source now'
	assert_line --regexp '^ .*Tab +next screen'
	assert_line --regexp '^ .*S-Tab +previous screen'
	assert_line --regexp '^ .*1-9 +go to screen N'
	assert_line --regexp '^ .*q/F10 +quit'
	tmux -L "$SOCK" send-keys x
	wait_gone 'Keys on Overview'
	assert [ ! -e "$D/rc" ]
}

@test "q ends the process with status 0 and nothing on stderr" {
	tui_start -i 1s "2> '$D/err'"
	wait_ready
	tmux -L "$SOCK" send-keys q
	wait_exit
	assert_equal "$(cat "$D/rc")" 0
	run cat "$D/err"
	assert_output ''
}

@test "F10 also quits" {
	tui_start -i 1s
	wait_ready
	tmux -L "$SOCK" send-keys F10
	wait_exit
	assert_equal "$(cat "$D/rc")" 0
}

@test "r polls at once instead of waiting for the interval" {
	tui_start -i 1h
	wait_for 'updated'
	first=$(screen | sed -n '1s/.*updated //p')
	sleep 1.2
	tmux -L "$SOCK" send-keys r
	wait_gone "updated $first"
	wait_for 'updated [0-9]{2}:'
}

@test "the layout follows a resize to 120x40 and back" {
	tui_start -i 1s
	wait_ready
	tmux -L "$SOCK" resize-window -x 120 -y 40
	for _ in $(seq 50); do
		[ "$(screen | wc -l)" -eq 40 ] && screen | sed -n 40p | grep -q 'q Quit' &&
			[ "$(screen | sed -n 1p | wc -L)" -gt 80 ] && break
		sleep 0.1
	done
	run --keep-empty-lines screen
	assert_equal "$(screen | wc -l)" 40
	assert_line --index 39 --regexp '^Enter Details  \? Help  r Refresh  Tab Next  q Quit'
	# the header reaches the new right edge
	assert_line --index 0 --regexp 'updated [0-9:]{8}$'
	assert_equal "$(screen | sed -n 1p | wc -L)" 119
	# four tiles in a row now
	assert_line --regexp 'Services unreachable +● Disk 3/3 up +✖ Port console closed +. Host '
	tmux -L "$SOCK" resize-window -x 80 -y 24
	# tmux keeps the bottom rows when it shrinks a pane: wait for our own redraw
	for _ in $(seq 50); do
		screen | sed -n 24p | grep -q 'q Quit' && screen | sed -n 1p | grep -q updated && break
		sleep 0.1
	done
	run --keep-empty-lines screen
	assert_equal "$(screen | wc -l)" 24
	assert_line --index 23 --regexp 'q Quit'
	assert_equal "$(screen | sed -n 1p | wc -L)" 79
	assert_line --regexp 'Services unreachable +● Disk 3/3 up +✖ Port console closed$'
}

@test "in colour the screen uses colours (so the NO_COLOR checks can fail)" {
	tui_start -i 1s
	wait_ready
	run color_sgrs
	assert [ -n "$output" ]
}

@test "NO_COLOR output has no colour attributes" {
	ENV="NO_COLOR=1" tui_start -i 1s
	wait_ready
	tmux -L "$SOCK" send-keys '?'
	wait_for 'Keys on Overview'
	run color_sgrs
	assert_output ''
	# the roles are still told apart by attributes (reverse header)
	run bash -c "tmux -L '$SOCK' capture-pane -p -e | head -1"
	assert_output --regexp $'\e\\[[0-9;]*7[0-9;]*m'
}

@test "--no-color output has no colour attributes" {
	tmux -L "$SOCK" -f /dev/null new-session -d -x 80 -y 24 \
		"env -u NO_COLOR LC_ALL=C.UTF-8 TERM=screen '$HMCTL' --no-color -c '$CONF' tui -i 1s; echo \$? > '$D/rc'; sleep 600"
	wait_ready
	run color_sgrs
	assert_output ''
}

@test "outside a UTF-8 locale the screen is drawn in ASCII" {
	LOCALE=C tui_start -i 1s
	wait_for 'Disk [0-9]+/[0-9]+ up'
	tmux -L "$SOCK" send-keys Enter
	wait_for 'Log space'
	run --keep-empty-lines screen
	assert_line --index 23 --regexp '^Enter Details  Up/Dn Scroll  \? Help  r Refresh  Tab Next  q Quit'
	assert_line --regexp '^ 1h '
	run bash -c "tmux -L '$SOCK' capture-pane -p | LC_ALL=C grep -c '[^ -~]'"
	assert_output 0
}

@test "tui -n 3 exits 0 by itself after three refreshes, with nothing on stderr" {
	# stderr goes to a file, so a sanitizer report (HMCTL=build-asan/hmctl) fails the test
	tui_start -n 3 -i 1s "2> '$D/err'"
	wait_exit 150
	assert_equal "$(cat "$D/rc")" 0
	run cat "$D/err"
	assert_output ''
}
