# bash completion for hmctl(1).
#
# Every candidate comes from the binary itself: `hmctl __complete WORD...` receives the words
# after `hmctl` (global options such as `-c FILE` included, so dynamic candidates like service
# names use the same configuration), the last one being the word under the cursor, and prints
# one candidate per line. The line `:file` or `:dir` asks for file or directory names.

_hmctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prog=${COMP_WORDS[0]}
	local -a words=("${COMP_WORDS[@]:1:COMP_CWORD}")
	local i n=${#words[@]}

	# The shell has not expanded a ~ yet; the binary must see the real configuration path.
	prog=${prog/#\~/$HOME}
	for ((i = 0; i < n - 1; i++)); do
		case ${words[i]} in
		-c | --config) words[i + 1]=${words[i + 1]/#\~/$HOME} ;;
		esac
	done

	local out line
	out=$("$prog" __complete "${words[@]}" 2>/dev/null) || return 0
	COMPREPLY=()
	while IFS= read -r line; do
		case $line in
		'') ;;
		:file)
			compopt -o filenames 2>/dev/null
			mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
			;;
		:dir)
			compopt -o filenames 2>/dev/null
			mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
			;;
		*) COMPREPLY+=("$line") ;;
		esac
	done <<<"$out"
	return 0
}

complete -F _hmctl hmctl
