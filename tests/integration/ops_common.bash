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

# The metric names the dashboard's queries (targets and template variables)
# and the alert rules' expressions use, one per line.
ops_queried_metrics() {
	{
		jq -r '.panels[].targets[].expr, (.templating.list[] | .definition // empty)' \
			"$TL_ROOT/packaging/grafana/jitwg.json"
		# Each rule's expr: from "expr:" to the rule's next key ("for:").
		awk '/^ *expr:/ { e = 1 } /^ *(for|labels|annotations):/ { e = 0 } e' \
			"$TL_ROOT/packaging/prometheus/jitwg-rules.yml"
	} | grep -oE 'jitwg_[a-zA-Z0-9_:]+' | sort -u
}

# ops_check_queries EXPORTED REGEX include|exclude -> every queried metric
# matching (or not matching) REGEX is in the EXPORTED list of sample names.
ops_check_queries() {
	local exported=$1 re=$2 mode=$3 m missing=() n=0
	while read -r m; do
		if [ "$mode" = include ]; then [[ $m =~ $re ]] || continue; else [[ $m =~ $re ]] && continue; fi
		n=$((n + 1))
		grep -qx "$m" "$exported" || missing+=("$m")
	done < <(ops_queried_metrics)
	[ "$n" -gt 0 ] || tl_fail "no queried metric matched ($mode $re)"
	[ ${#missing[@]} -eq 0 ] || tl_fail "queried but not exported: ${missing[*]}"
	tl_log "$n queried metric names ($mode $re) are all exported"
}

# ops_check_documented PROM... -> each family in these pages is named in docs/OPERATIONS.md.
ops_check_documented() {
	local f missing=()
	while read -r f; do
		grep -q "$f" "$TL_ROOT/docs/OPERATIONS.md" || missing+=("$f")
	done < <(awk '/^# TYPE / { print $3 }' "$@" | sort -u)
	[ ${#missing[@]} -eq 0 ] || tl_fail "not in docs/OPERATIONS.md: ${missing[*]}"
}
