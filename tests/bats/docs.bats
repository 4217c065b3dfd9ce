#!/usr/bin/env bats
# The documentation and the completions agree with the binary: man pages lint clean, every
# command, option and configuration key is documented, and the shell completions offer what
# `hmctl __complete` prints. Needs no lab.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	HMCTL=${HMCTL:-$ROOT/build/hmctl}
	[ -x "$HMCTL" ] || fail "no hmctl binary at $HMCTL (run make, or set HMCTL)"
}

# commands: the commands `hmctl --help` lists.
commands() {
	"$HMCTL" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

# man_commands: the commands that have a page man/hmctl-CMD.1; the pages are the list of what
# must exist, also for commands still being written.
man_commands() {
	local f
	for f in "$ROOT"/man/hmctl-*.1; do
		f=${f##*/hmctl-}
		echo "${f%.1}"
	done
}

# page CMD: the man page file that documents CMD, following a `.so` link.
page() {
	local f=$ROOT/man/hmctl-$1.1 first
	first=$(head -n 1 "$f")
	case $first in
	.so\ *) f=$ROOT/man/$(basename "${first#.so }") ;;
	esac
	echo "$f"
}

# long_options HELP_TEXT: the long options in the options section of a --help text.
long_options() {
	sed -n '/^options:/,/^$/p' <<<"$1" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# subcommands HELP_TEXT: the names listed under "commands:" in a --help text.
subcommands() {
	sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' <<<"$1"
}

# mentions FILE OPTION: the man page mentions --OPTION (mdoc writes it `Fl \-name`).
mentions() {
	local name=${2#--}
	name=${name//-/(-|\\\\-)}
	grep -Eq -- "(Fl \\\\-${name}([^a-z0-9-]|\$)|--${name}([^a-z0-9-]|\$))" "$1"
}

@test "man pages pass mandoc -T lint -W warning" {
	run sh "$ROOT/tests/lint-man.sh"
	assert_success
	refute_output --partial "WARNING"
	refute_output --partial "ERROR"
}

@test "hmctl(1) and hmctl.conf(5) exist" {
	[ -f "$ROOT/man/hmctl.1" ]
	[ -f "$ROOT/man/hmctl.conf.5" ]
}

@test "every command in 'hmctl --help' has man/hmctl-CMD.1" {
	local c missing=()
	run commands
	assert_success
	[ -n "$output" ] || fail "hmctl --help lists no commands"
	for c in $output; do
		[ -f "$ROOT/man/hmctl-$c.1" ] || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || fail "no man page for: ${missing[*]}"
}

@test "every command with a man page is a command of hmctl, and hmctl(1) lists it" {
	local c problems=()
	for c in $(man_commands); do
		"$HMCTL" "$c" --help >/dev/null 2>&1 || problems+=("$c: 'hmctl $c --help' fails")
		grep -Eq "^\.(It|Xr) .*(Cm $c|hmctl-$c)( |\$)" "$ROOT/man/hmctl.1" ||
			problems+=("$c: not in hmctl(1)")
	done
	[ ${#problems[@]} -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
}

@test "the global options of 'hmctl --help' are in hmctl(1)" {
	local o missing=()
	run "$HMCTL" --help
	assert_success
	for o in $(grep -o -- '--[a-z][a-z0-9-]*' <<<"$output" | sort -u); do
		mentions "$ROOT/man/hmctl.1" "$o" || missing+=("$o")
	done
	[ ${#missing[@]} -eq 0 ] || fail "hmctl(1) does not mention: ${missing[*]}"
}

@test "every long option of every command and subcommand is in its man page" {
	local c s o help shelp missing=()
	for c in $( (commands; man_commands) | sort -u); do
		[ -f "$ROOT/man/hmctl-$c.1" ] || continue # the test above reports it
		help=$("$HMCTL" "$c" --help 2>&1) || { missing+=("hmctl $c --help fails"); continue; }
		for o in $(long_options "$help"); do
			mentions "$(page "$c")" "$o" || missing+=("hmctl $c $o")
		done
		for s in $(subcommands "$help"); do
			shelp=$("$HMCTL" "$c" "$s" --help 2>&1) || { missing+=("hmctl $c $s --help fails"); continue; }
			grep -q "Cm $c $s\|Cm $s" "$(page "$c")" || missing+=("hmctl $c $s")
			for o in $(long_options "$shelp"); do
				mentions "$(page "$c")" "$o" || missing+=("hmctl $c $s $o")
			done
		done
	done
	[ ${#missing[@]} -eq 0 ] || fail "not in the man pages: $(printf '\n  %s' "${missing[@]}")"
}

@test "every key of 'hmctl config keys --json' is in hmctl.conf(5), under its section" {
	command -v jq >/dev/null || skip "jq is not installed (make deps)"
	local conf=$ROOT/man/hmctl.conf.5 section key block missing=()
	run "$HMCTL" config keys --json
	assert_success
	local pairs
	pairs=$(jq -r '.[] | "\(.section) \(.key)"' <<<"$output")
	[ -n "$pairs" ] || fail "config keys --json listed nothing"
	while read -r section key; do
		# the block from ".Ss [section" (plain or named) to the next .Ss or .Sh
		block=$(awk -v s="$section" '
			/^\.S[sh] / { inside = (index($0, ".Ss [" s "]") == 1 || index($0, ".Ss [" s " ") == 1); next }
			inside' "$conf")
		[ -n "$block" ] || { missing+=("[$section] (no section)"); continue; }
		grep -Eq "^\.It Ic ${key}( |\$)" <<<"$block" || missing+=("[$section] $key")
	done <<<"$pairs"
	[ ${#missing[@]} -eq 0 ] || fail "not in hmctl.conf(5): ${missing[*]}"
}

@test "every command appears in the README's tour" {
	local c tour missing=()
	[ -f "$ROOT/README.md" ] || fail "no README.md"
	tour=$(awk '/^## / { inside = ($0 ~ /tour/) ; next } inside' "$ROOT/README.md")
	[ -n "$tour" ] || fail "README.md has no '## ... tour' section"
	for c in $( (commands; man_commands) | sort -u); do
		grep -q "\`hmctl $c[\` ]" <<<"$tour" || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || fail "not in the README's tour: ${missing[*]}"
}

@test "README.md starts with the two set-up commands" {
	local block
	block=$(awk '/^```/ { n++; next } n == 1' "$ROOT/README.md")
	assert_equal "$block" "$(printf 'make demo\nmake test')"
}

@test "__complete '' lists the commands" {
	run "$HMCTL" __complete ''
	assert_success
	local c
	for c in $(commands); do
		assert_line "$c"
	done
	refute_line "__complete"
}

@test "__complete check --format '' offers text, json and nagios" {
	run "$HMCTL" __complete check --format ''
	assert_success
	assert_line text
	assert_line json
	assert_line nagios
	[ "${#lines[@]}" -eq 3 ]
}

@test "__complete -c '' asks for a file name" {
	run "$HMCTL" __complete -c ''
	assert_success
	assert_output ":file"
}

@test "__complete passes -c FILE through to the command's completion" {
	run "$HMCTL" __complete -c /nonexistent.conf check --f
	assert_success
	assert_output "--format"
}

# bash_complete WORD...: runs the bash completion function for `WORD...` (the last being the
# word under the cursor) and prints COMPREPLY, one per line.
bash_complete() {
	bash -c '
		source "$1/completions/hmctl.bash"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_hmctl
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$ROOT" "$@"
}

@test "bash completion is registered for hmctl" {
	run bash -c "source '$ROOT/completions/hmctl.bash'; complete -p hmctl"
	assert_success
	assert_output "complete -F _hmctl hmctl"
}

@test "bash completion: commands, subcommands, options and their values" {
	run bash_complete "$HMCTL" ''
	assert_success
	assert_line status
	assert_line check
	run bash_complete "$HMCTL" stat
	assert_output status
	run bash_complete "$HMCTL" config s
	assert_output show
	run bash_complete "$HMCTL" check --format n
	assert_output nagios
	run bash_complete "$HMCTL" status --j
	assert_output --json
}

@test "bash completion: -c completes file names" {
	local dir=$BATS_TEST_TMPDIR/conf
	mkdir -p "$dir"
	: >"$dir/lab.conf"
	: >"$dir/other.ini"
	run bash_complete "$HMCTL" -c "$dir/la"
	assert_success
	assert_output "$dir/lab.conf"
	run bash_complete "$HMCTL" -c "$dir/lab.conf" che
	assert_output check
}

@test "zsh completion offers what __complete prints" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -f -c '
		compdef() { :; }
		compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; done; shift; print -l -- "$@"; }
		_files() { print -- "_files $*"; }
		source "$1/completions/_hmctl"
		words=("$2" check --format ""); CURRENT=4; _hmctl
		print -r -- --
		words=("$2" -c ""); CURRENT=3; _hmctl
	' zsh "$ROOT" "$HMCTL"
	assert_success
	assert_output "$(printf 'text\njson\nnagios\n--\n_files ')"
}

@test "fish completion offers what __complete prints" {
	command -v fish >/dev/null || skip "fish is not installed"
	local dir=$BATS_TEST_TMPDIR/fishbin
	mkdir -p "$dir"
	ln -sf "$HMCTL" "$dir/hmctl"
	run env PATH="$dir:$PATH" fish --no-config -c "
		source '$ROOT/completions/hmctl.fish'
		complete -C 'hmctl check --format '
		complete -C 'hmctl conf'
	"
	assert_success
	assert_line json
	assert_line nagios
	assert_line text
	assert_line config
}
