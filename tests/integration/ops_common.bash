# shellcheck shell=bash
# Helpers of the operator-facing tests (man pages, --help, metrics names);
# sourced, not a test itself (run.sh runs only *.sh).

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

OPS_MAN=$TL_ROOT/man
# The bash completion's own reader of --help texts: what it completes is what
# the drift test compares, so the two cannot disagree.
# shellcheck source=../../packaging/bash-completion/jitwg
source "$TL_ROOT/packaging/bash-completion/jitwg"

# help_options CMD... -> the long options CMD --help offers, sorted.
help_options() {
	"$@" --help 2>/dev/null | _jitwg_options
}

# man_options FILE SECTION [SUBSECTION] -> the long options (.Fl -name) an
# mdoc page names inside .Sh SECTION (and inside .Ss SUBSECTION of it), sorted.
man_options() {
	awk -v sh="$2" -v ss="${3:-}" '
		/^\.Sh / { insh = (substr($0, 5) == sh); inss = (ss == ""); next }
		/^\.Ss / { if (ss != "") inss = (substr($0, 5) == ss); next }
		!insh || !inss || !/^\./ { next }
		{
			fl = 0
			for (i = 1; i <= NF; i++) {
				t = $i
				if (i == 1) sub(/^\./, "", t)
				if (t == "Fl") { fl = 1; continue }
				if (t == "|") continue
				if (fl && t ~ /^-[a-z0-9][a-z0-9-]*$/) { print "-" t; continue }
				fl = 0
			}
		}' "$1" | sort -u
}

# man_subsections FILE SECTION -> the .Ss titles inside .Sh SECTION.
man_subsections() {
	awk -v sh="$2" '/^\.Sh / { insh = (substr($0, 5) == sh); next } insh && /^\.Ss / { print substr($0, 5) }' "$1"
}

# same_set WHAT A_FILE B_FILE -> fails the test naming what differs.
same_set() {
	local d
	d=$(diff "$2" "$3" | grep '^[<>]' | sed 's/^</only in the man page:/; s/^>/only in --help:/') || true
	[ -z "$d" ] || tl_fail "$1 drifted: $(echo "$d" | tr '\n' ' ')"
}
