#!/usr/bin/env bash
# Checks that the runtime stage of deploy/Dockerfile provides every shared library a built binary loads.
#
#   deploy/check-runtime-libs.sh [options] BINARY [DOCKERFILE]
#
# For each library `ldd BINARY` resolves on this (Debian) host, `dpkg -S` names the package that ships it.
# That package must be
#   - installed by an `apt-get install` in the Dockerfile's last stage (the runtime stage), or
#   - part of its base image (deploy/debian-bookworm-slim.packages for debian:bookworm-slim), or
#   - a dependency (Depends/Pre-Depends, followed recursively through this host's dpkg database) of one of
#     those; only libraries the binary loads indirectly may come in this way. The binary's own DT_NEEDED
#     entries must come from a package the Dockerfile names or the base image holds, so the image does not
#     keep working only by accident of another package's dependencies.
# A library ldd cannot find fails the check. Libraries of the Swift toolchain (a binary built without
# --static-swift-stdlib) fail too, unless --swift-runtime-bundled says the image ships them itself.
#
# Options:
#   --swift-runtime-bundled     accept libraries under the Swift runtime directory (for a debug build here)
#   --swift-runtime-dir DIR     that directory (default: /opt/swift/usr/lib/swift)
#   --base-packages FILE        package list of the runtime stage's base image
#                               (default: debian-bookworm-slim.packages beside this script, used only when the
#                               stage is FROM debian:bookworm-slim; another base image needs this option)
#   -q, --quiet                 print only problems and the verdict
#
# Exit status: 0 all libraries accounted for, 1 at least one is not, 2 usage error or missing tool.
# Needs: ldd, readelf, dpkg, apt-cache (all in a Debian host's base install plus binutils).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
swift_bundled=0
swift_dir=/opt/swift/usr/lib/swift
base_file=""
quiet=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "check-runtime-libs: $*" >&2; exit 2; }

args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --swift-runtime-bundled) swift_bundled=1 ;;
        --swift-runtime-dir) [ $# -ge 2 ] || usage; swift_dir=$2; shift ;;
        --swift-runtime-dir=*) swift_dir=${1#*=} ;;
        --base-packages) [ $# -ge 2 ] || usage; base_file=$2; shift ;;
        --base-packages=*) base_file=${1#*=} ;;
        -q|--quiet) quiet=1 ;;
        -h|--help) usage ;;
        --) shift; args+=("$@"); break ;;
        -*) echo "check-runtime-libs: unknown option $1" >&2; usage ;;
        *) args+=("$1") ;;
    esac
    shift
done
[ ${#args[@]} -ge 1 ] && [ ${#args[@]} -le 2 ] || usage
binary=${args[0]}
dockerfile=${args[1]:-$here/Dockerfile}
[ -f "$binary" ] || die "no such binary: $binary"
[ -f "$dockerfile" ] || die "no such Dockerfile: $dockerfile"
for tool in ldd readelf dpkg dpkg-query apt-cache; do
    command -v "$tool" >/dev/null || die "needs $tool on PATH"
done
swift_dir=${swift_dir%/}

say() { [ "$quiet" -eq 1 ] || echo "$@"; }

# --- the runtime stage: base image and installed packages ----------------------------------------------------
# Joins continuation lines, keeps the last stage (from its FROM on), drops comments.
stage=$(awk '
    { sub(/\r$/, "") }
    /^[ \t]*#/ { next }
    { line = line $0 }
    /\\$/ { sub(/\\$/, "", line); next }
    { print line; line = "" }
' "$dockerfile" | awk 'toupper($1) == "FROM" { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }')
[ -n "$stage" ] || die "no FROM in $dockerfile"
base_image=$(printf '%s\n' "$stage" | awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; exit } }')

# Package names after `apt-get install` / `apt install` up to the end of that shell command.
declare -A explicit=()
while read -r pkg; do
    [ -n "$pkg" ] && explicit[$pkg]=1
done < <(printf '%s\n' "$stage" | awk 'toupper($1) == "RUN"' | sed 's/&&/\n/g; s/;/\n/g; s/||/\n/g' | awk '
    {
        for (i = 1; i <= NF; i++) {
            if (($i == "apt-get" || $i == "apt") && $(i + 1) == "install") {
                for (j = i + 2; j <= NF; j++) {
                    if ($j ~ /^-/) continue
                    p = $j; sub(/[=:].*$/, "", p)   # drop =version and :arch
                    print p
                }
                break
            }
        }
    }')

image_name=${base_image%%@*}   # ignore a pinned digest
if [ -z "$base_file" ]; then
    case "$image_name" in
        debian:bookworm-slim|docker.io/debian:bookworm-slim|docker.io/library/debian:bookworm-slim)
            base_file=$here/debian-bookworm-slim.packages ;;
        *) die "runtime stage is FROM $base_image: pass --base-packages FILE with that image's package list" ;;
    esac
fi
[ -f "$base_file" ] || die "no such package list: $base_file"
declare -A base=()
while read -r pkg _; do
    pkg=${pkg%%:*}
    [ -n "$pkg" ] && base[$pkg]=1
done < <(grep -v '^[[:space:]]*#' "$base_file")

# Everything reachable through Depends/Pre-Depends from the named packages, per this host's dpkg database.
declare -A installed=()
while read -r p st; do
    [ "$st" = "install ok installed" ] && installed[${p%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null)
roots=()
for p in "${!explicit[@]}" "${!base[@]}"; do
    if [ -n "${installed[$p]:-}" ]; then
        roots+=("$p")
    elif [ -n "${explicit[$p]:-}" ]; then
        say "note: $p (runtime stage) is not installed on this host; its dependencies are not followed"
    fi
done
declare -A closure=()
if [ ${#roots[@]} -gt 0 ]; then
    while read -r p; do
        p=${p%%:*}
        closure[$p]=1
    done < <(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
                --no-breaks --no-replaces --no-enhances "${roots[@]}" 2>/dev/null | grep -v '^[[:space:]<]')
fi

say "runtime stage: FROM $base_image"
say "  apt-get install: $(printf '%s\n' "${!explicit[@]}" | sort | tr '\n' ' ')"
say "  base packages: ${#base[@]} (from ${base_file#"$here"/}), with dependencies: ${#closure[@]} packages"

# --- the binary's libraries -----------------------------------------------------------------------------------
declare -A needed=()
while read -r soname; do
    needed[$soname]=1
done < <(readelf -d "$binary" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
[ ${#needed[@]} -gt 0 ] || die "$binary has no DT_NEEDED entries (not a dynamic ELF binary?)"

ldd_out=$(ldd "$binary" 2>&1) || die "ldd failed on $binary: $ldd_out"

# Libraries as (soname, path) pairs; the package of each file comes from one batched `dpkg -S`, trying the
# /usr-merged spellings of each path (dpkg knows a file under the name its package ships it as).
sonames=() paths=() missing=()
while read -r line; do
    [ -n "$line" ] || continue
    case "$line" in
        *"=> not found"*) missing+=("${line%% *}") ;;
        *" => "*) p=${line#*=> }; sonames+=("${line%% =>*}"); paths+=("${p%% (*}") ;;
        /*) p=${line%% (*}; sonames+=("${p##*/}"); paths+=("$p") ;;
        *) ;;   # linux-vdso.so.1 and friends: no file
    esac
done <<< "$ldd_out"

# All spellings of every path in one pass: "index<TAB>candidate" lines.
declare -A cands=()
queries=()
if [ ${#paths[@]} -gt 0 ]; then
    reals=$(readlink -f -- "${paths[@]}" 2>/dev/null || true)
    while IFS=$'\t' read -r i c; do
        cands[$i]+="$c"$'\n'
        queries+=("$c")
    done < <(paste <(printf '%s\n' "${paths[@]}") <(printf '%s\n' "$reals") | awk -F'\t' -v swift="$swift_dir/" '
        index($1, swift) == 1 { next }
        {
            n = split($1 "\t" $2, a, "\t"); delete seen
            for (k = 1; k <= n; k++) {
                if (a[k] == "") continue
                b = a[k]; sub(/^\/usr/, "", b)
                split(a[k] "\t/usr" b "\t" b, v, "\t")
                for (m = 1; m <= 3; m++) if (v[m] != "" && !seen[v[m]]++) print NR - 1 "\t" v[m]
            }
        }')
fi
declare -A file_pkg=()
if [ ${#queries[@]} -gt 0 ]; then
    # "pkg[:arch][, pkg2[:arch]]: /path"; diversion lines and misses (on stderr) are skipped.
    while IFS= read -r out; do
        case "$out" in diversion\ *) continue ;; esac
        pkg=${out%%: /*}; file=${out#"$pkg": }
        pkg=${pkg%%,*}; pkg=${pkg%%:*}
        [ -n "${file_pkg[$file]:-}" ] || file_pkg[$file]=$pkg
    done < <(dpkg -S "${queries[@]}" 2>/dev/null || true)
fi
# owner INDEX: the package of paths[INDEX], or failure.
owner() {
    local c
    while IFS= read -r c; do
        if [ -n "$c" ] && [ -n "${file_pkg[$c]:-}" ]; then echo "${file_pkg[$c]}"; return 0; fi
    done <<< "${cands[$1]:-}"
    return 1
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

say "libraries of $binary:"
for soname in "${missing[@]}"; do
    fail "$soname: not found by ldd"
done
for i in "${!sonames[@]}"; do
    soname=${sonames[$i]} path=${paths[$i]}
    direct=""
    [ -n "${needed[$soname]:-}" ] && direct=" (needed directly)"
    case "$path" in
        "$swift_dir"/*)
            if [ "$swift_bundled" -eq 1 ]; then
                say "  ok   $soname -> Swift runtime, bundled with the binary (--swift-runtime-bundled)"
            else
                fail "$soname$direct is the Swift runtime ($path): build with --static-swift-stdlib or ship it"
            fi
            continue ;;
    esac
    if ! pkg=$(owner "$i"); then
        fail "$soname$direct: $path belongs to no Debian package"
        continue
    fi
    if [ -n "${explicit[$pkg]:-}" ]; then
        say "  ok   $soname -> $pkg (apt-get install in the runtime stage)"
    elif [ -n "${base[$pkg]:-}" ]; then
        say "  ok   $soname -> $pkg (in the base image)"
    elif [ -n "${closure[$pkg]:-}" ]; then
        if [ -n "$direct" ]; then
            fail "$soname is needed directly but $pkg only comes in as a dependency: add $pkg to the runtime stage's apt-get install"
        else
            say "  ok   $soname -> $pkg (dependency of the installed packages)"
        fi
    else
        fail "$soname$direct -> $pkg: not installed by the runtime stage, not in the base image"
    fi
done

if [ "$failures" -gt 0 ]; then
    echo "check-runtime-libs: $failures librar$([ "$failures" -eq 1 ] && echo y || echo ies) not provided by the runtime stage of $dockerfile"
    exit 1
fi
echo "check-runtime-libs: ok, every library of $(basename "$binary") is provided by the runtime stage of $(basename "$dockerfile")"
