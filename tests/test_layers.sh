#!/usr/bin/env bash
# tests/test_layers.sh - src/ stays layered, with no dependency cycles.
#
# The library is a set of packages (Makefile SRC_PACKAGES, in order: a
# package may use only itself and the packages before it). Like curl's
# checksrc, this reads the code itself and fails on:
#   includes   a file of src/P including a header of a later package, or a
#              private header (NAME_private.h) of another package;
#   symbols    an object of package P calling a function (or using data)
#              defined in a later package: what the compiled code really
#              uses, whatever the headers say;
#   cycles     files of the library calling each other in a circle (a.c
#              uses b.c and b.c uses a.c, or longer), by symbols, and files
#              of one package including each other's headers in a circle.
# A file is its .c with its .h and _private.h: "jpeg_scan" below.
#
#   tests/test_layers.sh [BUILD_DIR]   objects from BUILD_DIR/src (default build)
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/tests/lib.sh"
cd "$ROOT"
OBJ=${1:-${LAYERS_OBJ:-build}}/src

packages=$(sed -n 's/^SRC_PACKAGES *:= *//p' Makefile)
declare -A rank
i=0
for p in $packages; do rank[$p]=$i; i=$((i + 1)); done

# file stem of a path: src/codec/jpeg_scan_private.h -> codec/jpeg_scan
stem() { local f=${1#src/}; f=${f%.[ch]}; echo "${f%_private}"; }

# ---------------------------------------------------------------- includes
include_errors=$(
    for f in src/*/*.[ch]; do
        p=$(basename "$(dirname "$f")")
        grep -oE '^#include "[a-z_]+/[a-z0-9_]+\.h"' "$f" | sed 's/.*"\(.*\)"/\1/' |
        while read -r h; do
            q=${h%%/*}
            if [ -z "${rank[$q]:-}" ]; then
                echo "$f includes $h: not a package"
            elif [ "${rank[$q]}" -gt "${rank[$p]}" ]; then
                echo "$f includes $h: package $q comes after $p"
            elif [ "$q" != "$p" ] && [[ $h == *_private.h ]]; then
                echo "$f includes $h: a private header of package $q"
            fi
        done
    done)
check includes_follow_the_layers test -z "$include_errors"
[ -n "$include_errors" ] && printf '%s\n' "$include_errors" | sed 's/^/# /'

# include cycles among the files of one package (tsort reports loops)
include_edges=$(
    for f in src/*/*.[ch]; do
        p=$(basename "$(dirname "$f")")
        a=$(stem "$f")
        grep -oE "^#include \"$p/[a-z0-9_]+\.h\"" "$f" | sed 's/.*"\(.*\)"/\1/' |
        while read -r h; do
            b=$(stem "src/$h")
            [ "$a" != "$b" ] && echo "$a $b"
        done
    done | sort -u)
include_loops=$(printf '%s\n' "$include_edges" | tsort 2>&1 >/dev/null | grep -v 'input contains a loop' | sed 's/^tsort: //')
check no_include_circles_in_a_package test -z "$include_loops"
[ -n "$include_loops" ] && printf '# in a loop: %s\n' $include_loops

# ---------------------------------------------------------------- symbols
# the objects of today's sources (a build directory may hold stale ones)
objects=$(for c in src/*/*.c; do o=$OBJ/${c#src/}; o=${o%.c}.o; [ -e "$o" ] && echo "$o"; done)
check objects_built test -n "$objects"
declare -A defined_in
for o in $objects; do
    f=${o#"$OBJ"/}; f=${f%.o}
    for s in $(nm --defined-only -g "$o" | awk 'NF == 3 {print $3}'); do defined_in[$s]=$f; done
done
symbol_edges=$(
    for o in $objects; do
        f=${o#"$OBJ"/}; f=${f%.o}
        for s in $(nm -u "$o" | awk '{print $2}'); do
            d=${defined_in[$s]:-}
            [ -n "$d" ] && [ "$d" != "$f" ] && echo "$f $d $s"
        done
    done | sort -u)
layer_errors=$(printf '%s\n' "$symbol_edges" | while read -r a b s; do
    [ -z "$a" ] && continue
    pa=${a%%/*}; pb=${b%%/*}
    [ "${rank[$pb]}" -gt "${rank[$pa]}" ] && echo "$a uses $s of $b: package $pb comes after $pa"
done)
check symbols_follow_the_layers test -z "$layer_errors"
[ -n "$layer_errors" ] && printf '%s\n' "$layer_errors" | sed 's/^/# /'

call_loops=$(printf '%s\n' "$symbol_edges" | awk 'NF == 3 {print $1, $2}' | sort -u |
    tsort 2>&1 >/dev/null | grep -v 'input contains a loop' | sed 's/^tsort: //' | sort -u | tr '\n' ' ')
check no_call_circles test -z "$call_loops"
if [ -n "$call_loops" ]; then
    echo "# files in loops: $call_loops"
    # the edges between the files of the loop, to say which symbols close it
    printf '%s\n' "$symbol_edges" | while read -r a b s; do
        case " $call_loops " in *" $a "*) case " $call_loops " in *" $b "*) echo "#   $a -> $b ($s)" ;; esac ;; esac
    done | head -40
fi

