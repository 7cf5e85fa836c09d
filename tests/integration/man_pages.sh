#!/usr/bin/env bash
# Man pages (man/): `mandoc -T lint` is clean (warnings and above; its STYLE
# notes about cross-references to our own pages not installed here are not
# counted), and each page's option names agree with the binary's --help:
# jitwgd(8) and jitwgd.conf(5) with jitwgd, jitwg-registry(8) with
# jitwg-registry, and jitwg(8) command by command (its COMMANDS subsections
# must be exactly the commands `jitwg --help` and each `jitwg CMD --help`
# list). jitwg-relay(8) is checked by man_pages_relay.sh.
source "$(dirname "$0")/ops_common.bash"
command -v mandoc >/dev/null || { echo "mandoc not installed (scripts/deps.sh)"; exit 77; }
[ -x "$TL_BIN/jitwg" ] || { echo "build first (make)"; exit 77; }
tl_init

for m in "$OPS_MAN"/*.[1-8]; do
	mandoc -T lint -W warning "$m" >"$TL_TMP/lint" 2>&1 || { cat "$TL_TMP/lint"; tl_fail "mandoc -T lint: ${m##*/}"; }
	[ -s "$TL_TMP/lint" ] && { cat "$TL_TMP/lint"; tl_fail "mandoc -T lint: ${m##*/}"; }
done
tl_log "mandoc -T lint clean: $(cd "$OPS_MAN" && echo *.[1-8])"

# check PAGE SECTION SUBSECTION CMD... -> option names agree.
n=0
check() {
	local page=$1 sec=$2 sub=$3
	shift 3
	man_options "$OPS_MAN/$page" "$sec" "$sub" >"$TL_TMP/man.txt"
	help_options "$@" >"$TL_TMP/help.txt"
	[ -s "$TL_TMP/help.txt" ] || tl_fail "'$* --help' names no option"
	same_set "$page ${sub:-$sec} vs '$* --help'" "$TL_TMP/man.txt" "$TL_TMP/help.txt"
	n=$((n + 1))
}
check jitwgd.8 OPTIONS "" "$TL_BIN/jitwgd"
check jitwg-registry.8 OPTIONS "" "$TL_BIN/jitwg-registry"
check jitwg.8 OPTIONS "" "$TL_BIN/jitwg"

# jitwgd.conf(5) names the file's options as .Cm words: every jitwgd option
# but config, help and version.
awk '/^\.Sh / { o = ($2 == "OPTIONS") } o && /^\.Cm / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z][a-z0-9-]*$/) print "--" $i }' \
	"$OPS_MAN/jitwgd.conf.5" | grep -vx -e --config -e --help -e --version | sort -u >"$TL_TMP/conf.txt"
help_options "$TL_BIN/jitwgd" | grep -vx -e --config -e --help -e --version >"$TL_TMP/help.txt"
same_set "jitwgd.conf.5 OPTIONS vs 'jitwgd --help'" "$TL_TMP/conf.txt" "$TL_TMP/help.txt"

# jitwg(8): the commands, then each command's options.
"$TL_BIN/jitwg" --help | _jitwg_section_words | sort >"$TL_TMP/cmds.help"
man_subsections "$OPS_MAN/jitwg.8" COMMANDS | awk '{ print $1 }' | sort -u >"$TL_TMP/cmds.man"
same_set "jitwg.8 commands vs 'jitwg --help'" "$TL_TMP/cmds.man" "$TL_TMP/cmds.help"
while read -r cmd; do
	nested=$("$TL_BIN/jitwg" "$cmd" --help 2>/dev/null | awk -v c="$cmd" '$1 == "jitwg" && $2 == c && $3 ~ /^[a-z]/ { print $3 }')
	[ -n "$nested" ] || nested=$("$TL_BIN/jitwg" "$cmd" --help 2>/dev/null | _jitwg_section_words)
	if [ -z "$nested" ]; then
		check jitwg.8 COMMANDS "$cmd" "$TL_BIN/jitwg" "$cmd"
		continue
	fi
	sort -u <<<"$nested" >"$TL_TMP/sub.help"
	man_subsections "$OPS_MAN/jitwg.8" COMMANDS | awk -v c="$cmd" '$1 == c { print $2 }' | sort -u >"$TL_TMP/sub.man"
	same_set "jitwg.8 '$cmd' commands vs 'jitwg $cmd --help'" "$TL_TMP/sub.man" "$TL_TMP/sub.help"
	while read -r sub; do
		# A command with no options (jitwg bench primitives) has none on either side.
		if [ -z "$(help_options "$TL_BIN/jitwg" "$cmd" "$sub")" ]; then
			[ -z "$(man_options "$OPS_MAN/jitwg.8" COMMANDS "$cmd $sub")" ] || tl_fail "jitwg.8 '$cmd $sub' names options its --help does not"
			continue
		fi
		check jitwg.8 COMMANDS "$cmd $sub" "$TL_BIN/jitwg" "$cmd" "$sub"
	done <"$TL_TMP/sub.help"
done <"$TL_TMP/cmds.help"
tl_log "option names agree in $n man page sections with --help"
tl_log PASS
