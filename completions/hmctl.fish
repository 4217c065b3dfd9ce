# fish completion for hmctl(1).
#
# Every candidate comes from the binary itself: `hmctl __complete WORD...` receives the words
# after `hmctl` (global options such as `-c FILE` included, so dynamic candidates like service
# names use the same configuration), the last one being the word under the cursor, and prints
# one candidate per line. The line `:file` or `:dir` asks for file or directory names.

function __hmctl_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l prog (string replace -r '^~' -- $HOME $tokens[1])
    set -e tokens[1]
    # the binary must see the real configuration path, ~ expanded
    for i in (seq (count $tokens))
        if contains -- $tokens[$i] -c --config; and test $i -lt (count $tokens)
            set -l j (math $i + 1)
            set tokens[$j] (string replace -r '^~' -- $HOME $tokens[$j])
        end
    end
    for line in ($prog __complete $tokens "$cur" 2>/dev/null)
        switch $line
            case ''
            case :file
                __fish_complete_path "$cur"
            case :dir
                __fish_complete_directories "$cur" ''
            case '*'
                echo $line
        end
    end
end

complete -c hmctl -f -a '(__hmctl_complete)'
