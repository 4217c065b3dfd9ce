#!/usr/bin/env bats
# hmctl tui's screens as a person sees them in a terminal (tmux), against the lab's servers
# (Docker with a healthy, an unhealthy, an exited and a plain container) and hmsim serving a
# console: tabs, the Hosts filter and sort, CJK names in their columns, the unhealthy container,
# a restart through the confirmation dialog (keys and mouse), --readonly, remapped keys, errors
# in place, and the alerts of the unhealthy container: listed, acknowledged and silenced through
# dialogs, counted by severity on the Overview.

load helpers
load hmsim
bats_require_minimum_version 1.5.0


setup_file() {
	export SIM="$BATS_FILE_TMPDIR/sim"
	start_sim "$SIM" --seed 7 --hosts 300 --gateways 3
	local url base
	url=$(cat "$SIM/ready")
	base=${url%/hypermotion/v1}
	# a Chinese name next to ASCII ones ending the same way
	curl -sf --cacert "$SIM/ca.pem" -d '{"host":"ad-01","host_name":"财务数据库-01"}' \
		"$base/_hmsim/rename" >/dev/null
}

teardown_file() {
	stop_sim "$SIM"
}

setup() {
	D=$BATS_TEST_TMPDIR
	SOCK="hmctl-screens-$$-$BATS_TEST_NUMBER"
	URL=$(cat "$SIM/ready")
	echo admin >"$D/pw"
	write_conf
}

# write_conf [LINES...]: the lab's configuration with a data directory of this test, a
# 1-second interval and hmsim as the console; LINES are added at the end.
write_conf() {
	CONF=$D/hmctl.conf
	{
		sed -e "s|^data_dir = .*|data_dir = $D/data|" -e 's|^interval = .*|interval = 1s|' \
			"$LAB_DIR/hmctl.conf"
		printf '\n[console]\nurl = %s\nca_file = %s/ca.pem\npassword_file = %s\ntimeout = 5s\n' \
			"$URL" "$SIM" "${PW_FILE:-$D/pw}"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$CONF"
	chmod 600 "$CONF"
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
}

# tui_start ARGS: hmctl tui in a COLSxLINES (default 80x24) tmux pane; its exit status lands
# in $D/rc, its stderr in $D/err.
tui_start() {
	tmux -L "$SOCK" -f /dev/null new-session -d -x "${COLS:-80}" -y "${LINES_:-24}" \
		"env -u NO_COLOR LC_ALL=C.UTF-8 TERM=screen ${ENV:-} '$HMCTL' -c '$CONF' tui $* 2> '$D/err'; echo \$? > '$D/rc'; sleep 600"
}

screen() {
	tmux -L "$SOCK" capture-pane -p "$@"
}

keys() {
	tmux -L "$SOCK" send-keys "$@"
}

# wait_for REGEX [TENTHS]: until the screen shows it (default 20 s).
wait_for() {
	for _ in $(seq "${2:-400}"); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "timed out waiting for /$1/; the screen was:" >&2
	screen >&2
	return 1
}

# click X Y: a button-1 click at 0-based column X, line Y (X10 mouse encoding, as xterm sends).
click() {
	local x=$(($1 + 33)) y=$(($2 + 33))
	tmux -L "$SOCK" send-keys -l "$(printf '\033[M %b%b' "\\$(printf '%03o' $x)" "\\$(printf '%03o' $y)")"
	tmux -L "$SOCK" send-keys -l "$(printf '\033[M#%b%b' "\\$(printf '%03o' $x)" "\\$(printf '%03o' $y)")"
}

# The 0-based line and column where TEXT first appears on the screen.
find_text() {
	screen | awk -v t="$1" 'index($0, t) { print NR - 1, index($0, t) - 1; exit }'
}

# The hosts screen with every host read.
open_hosts() {
	tui_start -i 1s "$@"
	wait_for 'Console API'
	keys 4
	wait_for '^ [0-9]+ hosts'
}

@test "the tabs name every screen; Tab, Shift-Tab and the digits switch between them" {
	tui_start -i 1s
	wait_for '^ 1 Overview +2 Services +3 Remote +4 Hosts +5 Alerts +6 Events +7 Drill'
	run screen
	assert_line --index 0 --partial ' Overview '
	keys Tab
	wait_for '^ hmctl .* Services '
	keys 4
	wait_for '^ hmctl .* Hosts '
	keys 6
	wait_for '^ hmctl .* Events '
	keys BTab
	wait_for '^ hmctl .* Alerts '
	keys BTab
	wait_for '^ hmctl .* Hosts '
	keys 3
	wait_for '^ hmctl .* Remote '
	# the first poll may still be running on a busy machine: wait for its result
	wait_for '^ no remote host is watched'
	keys 1
	wait_for '^ hmctl .* Overview '
}

@test "the Overview shows the console's tiles, the running tasks, the 24 h success rate and the event trend" {
	tui_start -i 1s
	wait_for 'Console API reachable'
	wait_for '^ Events  7 days [0-9,]+, 30 days [0-9,]+, today [0-9,]+'
	run screen
	assert_line --regexp '● Console API reachable'
	assert_line --regexp ' Hosts 300 '
	assert_line --regexp 'Gateways '
	assert_line --regexp '^ Tasks  [0-9]+ syncs?, [0-9]+ boots? running   (24 h success [0-9.]+% \([0-9,]+ done, [0-9,]+ failed\)|no task finished in 24 h)'
	assert_line --regexp '^   7 days +30 days'
	[ "$(screen | wc -L)" -le 80 ]
}

@test "Hosts: the filter keeps the hosts whose name matches, and Esc clears it" {
	open_hosts
	keys / w e b - 0 1
	wait_for '^Filter: web-01'
	keys Enter
	wait_for '^ 300 hosts, [0-9]+ shown'
	run --keep-empty-lines screen
	# every row shown has web-01 in its name
	rows=$(screen | sed -n '5,23p' | grep -v '^ *$' | grep -vc 'web-01' || true)
	assert_equal "$rows" 0
	assert_line --regexp '^ [^ ]*web-01 '
	assert_line --index 23 --regexp 'filter: web-01$'
	keys Escape
	wait_for '^ 300 hosts  '
}

@test "Hosts: s sorts by the next column and I reverses the order" {
	COLS=200 LINES_=50 open_hosts
	# by name (the default), ascending
	screen | sed -n '5,49p' | awk 'NF { print $1 }' > "$D/names"
	LC_ALL=C sort -c "$D/names"
	keys I
	wait_for 'NAME▼'
	screen | sed -n '5,49p' | awk 'NF { print $1 }' > "$D/names"
	LC_ALL=C sort -r -c "$D/names"
	keys s
	wait_for 'STATUS▲'
	run --keep-empty-lines screen
	assert_line --index 48 --partial 'sorted by status'
	screen | sed -n '5,47p' | awk 'NF { print $2 }' > "$D/status"
	LC_ALL=C sort -c "$D/status"
	# not every host has the same status, or the check could not fail
	[ "$(sort -u "$D/status" | wc -l)" -gt 1 ]
}

@test "Hosts: a Chinese name keeps every column aligned by display width" {
	LINES_=40 open_hosts
	keys / - 0 1 Enter
	wait_for '财务数据库-01'
	# the display column where each row's second field starts equals the STATUS heading's
	screen | /usr/bin/python3 -c '
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = sys.stdin.read().split("\n")
head = next(l for l in lines if "STATUS" in l)
want = width(head[:head.index("STATUS")])
rows = [l for l in lines[lines.index(head) + 1:] if l.startswith(" ") and "-01" in l]
assert any("财务数据库-01" in l for l in rows), rows
for l in rows:
    name = l.split()[0]
    rest = l[l.index(name) + len(name):]
    col = width(l[:l.index(name) + len(name)]) + len(rest) - len(rest.lstrip(" "))
    assert col == want, (l, col, want)
print(len(rows), "rows aligned")
'
	[ "$(screen | wc -L)" -le 80 ]
}

@test "Hosts: Enter opens the detail pane with the host's snapshots and recent jobs; Esc closes it" {
	open_hosts
	keys Enter
	wait_for 'Recent jobs'
	run screen
	assert_line --regexp '│ Snapshot '
	assert_line --regexp '│   [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5}  snapshot-'
	keys Escape
	for _ in $(seq 50); do screen | grep -q 'Recent jobs' || break; sleep 0.1; done
	refute [ -n "$(screen | grep 'Recent jobs')" ]
}

@test "Events are listed newest first" {
	tui_start -i 1s
	wait_for 'Console API'
	keys 6
	wait_for '^ [0-9]+ events in 30 days'
	screen | sed -n '5,23p' | awk 'NF >= 2 && $1 ~ /^[0-9][0-9]-/ { print $1, $2 }' > "$D/times"
	[ "$(wc -l < "$D/times")" -gt 3 ]
	LC_ALL=C sort -r -c "$D/times"
}

@test "Services: the unhealthy and the exited container are marked critical" {
	require_lab docker
	tui_start -i 1s
	wait_for '✖ Services 2/4 up'
	keys 2
	wait_for 'porter-api'
	run screen
	assert_line --regexp '^ SERVICE. +STATE +HEALTH +RESTARTS +UPTIME +IMAGE'
	assert_line --regexp '^ porter-api +Up \(unhealthy\) +unhealthy +[0-9]+ +[0-9hms ]+ +hmlab/'
	assert_line --regexp '^ owl-api +Exited \(3\) '
	assert_line --regexp '^ ant-api +Up \(healthy\) +healthy '
	run bash -c "tmux -L '$SOCK' capture-pane -p -e | grep -a 'porter-api'"
	assert_output --regexp $'\e\\[[0-9;]*31[0-9;]*mUp \\(unhealthy\\)'
}

@test "Services: a restart through the confirmation dialog, with the mouse on the tab, the row and the button" {
	require_lab docker
	before=$(docker_api /containers/proxy-api/json | jq -r .State.StartedAt)
	tui_start -i 1s
	wait_for '2 Services'
	read -r ty tx < <(find_text '2 Services')
	click "$((tx + 1))" "$ty"
	wait_for '^ proxy-api '
	read -r ry rx < <(find_text 'proxy-api')
	click "$((rx + 1))" "$ry"
	wait_for ' 4/4$'
	keys R
	wait_for 'Restart proxy-api\?'
	run screen
	assert_line --regexp '\[ Yes \]  \[ No \]'
	read -r by bx < <(find_text '[ Yes ]')
	click "$((bx + 2))" "$by"
	wait_for 'restarting proxy-api|restarted proxy-api'
	wait_for 'restarted proxy-api' 600
	after=$(docker_api /containers/proxy-api/json | jq -r .State.StartedAt)
	[ "$before" != "$after" ]
}

@test "Services: No in the dialog leaves the service alone" {
	require_lab docker
	before=$(docker_api /containers/ant-api/json | jq -r .State.StartedAt)
	tui_start -i 1s
	wait_for 'Console API'
	keys 2
	wait_for '^ ant-api '
	keys Home R
	wait_for 'Restart ant-api\?'
	keys Enter
	for _ in $(seq 30); do screen | grep -q 'Restart ant-api' || break; sleep 0.1; done
	sleep 1
	refute [ -n "$(screen | grep -E 'Restart ant-api|restart')" ]
	assert_equal "$(docker_api /containers/ant-api/json | jq -r .State.StartedAt)" "$before"
}

@test "--readonly refuses the restart and offers no action key" {
	require_lab docker
	before=$(docker_api /containers/proxy-api/json | jq -r .State.StartedAt)
	tui_start -i 1s --readonly
	wait_for 'Console API'
	run screen
	assert_line --index 0 --partial '[readonly]'
	keys 2
	wait_for '^ proxy-api '
	run screen
	refute_line --partial 'Restart'
	keys End R
	wait_for 'read-only \(--readonly\): restart is disabled'
	refute [ -n "$(screen | grep 'Restart proxy-api')" ]
	keys '?'
	wait_for 'Keys on Services'
	run screen
	assert_line --regexp 'R +restart the service \(asks first\) \(disabled: --readonly\)'
	assert_equal "$(docker_api /containers/proxy-api/json | jq -r .State.StartedAt)" "$before"
}

@test "[tui] keys remaps quit to x: x quits, q no longer does, and the footer says so" {
	write_conf '[tui]' 'keys = quit=x, refresh=F5 R'
	tui_start -i 1s
	wait_for 'x Quit'
	run --keep-empty-lines screen
	assert_line --index 23 --regexp '  F5 Refresh  Tab Next  x Quit'
	keys q
	sleep 0.5
	[ ! -s "$D/rc" ]
	keys '?'
	wait_for 'Keys on Overview'
	run screen
	assert_line --regexp ' x +quit$'
	assert_line --regexp ' F5/R +read every source now'
	keys Escape x
	for _ in $(seq 50); do [ -s "$D/rc" ] && break; sleep 0.1; done
	assert_equal "$(cat "$D/rc")" 0
}

@test "config check names a bad action or key in [tui] keys with its file and line" {
	write_conf '[tui]' 'keys = qiut=x'
	run "$HMCTL" -c "$CONF" config check
	assert_failure 1
	line=$(grep -n '^keys = qiut' "$CONF" | cut -d: -f1)
	assert_line --regexp "^$CONF:$line: unknown action 'qiut' in \[tui\] keys \(actions: help, refresh, .*quit.*\)"
	write_conf '[tui]' 'keys = quit=F13'
	run "$HMCTL" -c "$CONF" config check
	assert_failure 1
	assert_line --partial "unknown key 'F13' for 'quit' in [tui] keys"
	run "$HMCTL" -c "$CONF" tui
	assert_failure 1
}

@test "a console that refuses the password shows its error in place on Hosts and as a tile" {
	echo wrong >"$D/bad"
	PW_FILE=$D/bad write_conf
	tui_start -i 1s
	wait_for 'Console API unreachable'
	keys 4
	wait_for '^ 0 hosts  console: https://.*/users/token: HTTP 40'
	run screen
	assert_line --regexp '^ no host$'
}

@test "tui -n 50 with the console exits 0 with nothing on stderr (sanitizer builds report there)" {
	tui_start -n 50 -i 100ms
	for _ in $(seq 600); do [ -s "$D/rc" ] && break; sleep 0.1; done
	assert_equal "$(cat "$D/rc")" 0
	run cat "$D/err"
	assert_output ''
}

# --- Alerts ------------------------------------------------------------------------------------

# fire_unhealthy: the lab's unhealthy container makes containers-unhealthy fire at once (for = 0)
# in one `hmctl check`; $ALERT is its id.
fire_unhealthy() {
	write_conf '[rule "containers-unhealthy"]' 'for = 0'
	run "$HMCTL" -c "$CONF" check
	ALERT=$("$HMCTL" -c "$CONF" alerts list --json |
		jq -r '.[] | select(.rule == "containers-unhealthy" and .state == "firing") | .id')
	[ -n "$ALERT" ] || fail "containers-unhealthy is not firing: $output"
}

# alert_json FILTER: jq FILTER applied to the containers-unhealthy alert of `alerts list --json`.
alert_json() {
	"$HMCTL" -c "$CONF" alerts list --json | jq -r ".[] | select(.id == $ALERT) | $1"
}

# open_alerts ARGS: the Alerts screen filtered to the containers-unhealthy alert.
open_alerts() {
	tui_start -i 1s "$@"
	wait_for 'Console API'
	keys 5
	wait_for '^ hmctl .* Alerts '
	wait_for 'containers-unhealthy'
	keys / c o n t a i n e r s - u n h e a l t h y Enter
	wait_for '^ critical +firing +containers-unhealthy +console '
}

@test "Alerts: a firing alert is acknowledged through the dialog with a comment" {
	require_lab docker
	fire_unhealthy
	# wide enough for the acknowledgement column
	COLS=120 open_alerts
	keys a
	wait_for "Acknowledge alert $ALERT, containers-unhealthy on console\\?"
	# an empty comment is refused
	keys Enter Enter
	wait_for 'not acknowledged: a comment is required'
	[ "$(alert_json .acknowledged)" = false ]
	keys a
	wait_for "Acknowledge alert $ALERT"
	keys -l 'cause: disk full; cleaned logs; healthy again'
	keys Enter
	keys Enter
	wait_for "acknowledged alert $ALERT"
	wait_for "$(id -un): cause: disk"
	[ "$(alert_json .acknowledged)" = true ]
	[ "$(alert_json .ack.comment)" = "cause: disk full; cleaned logs; healthy again" ]
	[ "$(alert_json .ack.by)" = "$(id -un)" ]
}

@test "Alerts: S silences the alert for the duration given in the dialog" {
	require_lab docker
	fire_unhealthy
	open_alerts
	keys S
	wait_for 'Silence containers-unhealthy on console'
	# the duration comes first, filled with 2h; Enter goes on to the comment, then to Yes
	keys C-u
	keys -l 30m
	keys Enter
	keys -l 'maintenance window'
	keys Enter
	keys Enter
	wait_for "silenced alert $ALERT"
	wait_for 'firing, silenced'
	[ "$(alert_json .silenced)" = true ]
	run "$HMCTL" -c "$CONF" alerts silence --json
	[ "$(jq -r '.[0].comment' <<<"$output")" = "maintenance window" ]
}

@test "Alerts: --readonly refuses the acknowledgement" {
	require_lab docker
	fire_unhealthy
	open_alerts --readonly
	run screen
	refute_line --partial 'Ack'
	keys a
	wait_for 'read-only \(--readonly\): ack is disabled'
	refute [ -n "$(screen | grep 'Acknowledge alert')" ]
	keys S
	wait_for 'read-only \(--readonly\): silence is disabled'
	[ "$(alert_json .acknowledged)" = false ]
}

@test "the Overview counts the firing alerts by severity" {
	require_lab docker
	fire_unhealthy
	local n
	n=$("$HMCTL" -c "$CONF" alerts list --json |
		jq -r '[.[] | select(.state == "firing")] as $f | "\($f | length) firing +info \([$f[] | select(.severity == "info")] | length) +warning \([$f[] | select(.severity == "warning")] | length) +critical \([$f[] | select(.severity == "critical")] | length) +emergency \([$f[] | select(.severity == "emergency")] | length)"')
	tui_start -i 1s
	wait_for "^ Alerts +$n"
	[[ $n =~ critical\ [1-9] ]] || fail "no critical alert counted: $n"
}
