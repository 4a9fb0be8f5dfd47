#!/usr/bin/env bash
# Consumer tests against an installed bgcopy (registered by c-tests/CMakeLists.txt).
#
#   run.sh install       cmake --install <build> --prefix <prefix>   (fresh prefix)
#   run.sh find_package  build consumer/ with find_package(bgcopy) and run it
#   run.sh pkg_config    cc main.c $(pkg-config --cflags --libs bgcopy) and run it
#
# Settings come from the environment (ctest sets them): BGCOPY_CMAKE, BGCOPY_CMAKE_GENERATOR,
# BGCOPY_BUILD_DIR, BGCOPY_CONSUMER_SRC, BGCOPY_CONSUMER_WORK, BGCOPY_PREFIX, BGCOPY_LIBDIR,
# BGCOPY_CC.
set -euo pipefail

mode=${1:?usage: run.sh install|find_package|pkg_config}
cmake=${BGCOPY_CMAKE:-cmake}
cc=${BGCOPY_CC:-cc}
build=${BGCOPY_BUILD_DIR:?BGCOPY_BUILD_DIR not set}
src=${BGCOPY_CONSUMER_SRC:-$(cd "$(dirname "$0")" && pwd)}
work=${BGCOPY_CONSUMER_WORK:-$build/consumer}
prefix=${BGCOPY_PREFIX:-$work/prefix}
libdir="$prefix/${BGCOPY_LIBDIR:-lib}"

run() { echo "+ $*"; "$@"; }

case "$mode" in
install)
    rm -rf "$prefix"
    mkdir -p "$work"
    run "$cmake" --install "$build" --prefix "$prefix"
    for f in "$libdir/libbgcopy.so" "$libdir/libbgcopy.a" "$prefix/include/bgcopy.h" \
             "$libdir/pkgconfig/bgcopy.pc" "$libdir/cmake/bgcopy/bgcopyConfig.cmake" \
             "$libdir/cmake/bgcopy/bgcopyConfigVersion.cmake"; do
        [[ -f "$f" ]] || { echo "missing after install: $f" >&2; exit 1; }
    done
    grep -q "^prefix=$prefix\$" "$libdir/pkgconfig/bgcopy.pc" \
        || { echo "bgcopy.pc does not name prefix $prefix:" >&2; cat "$libdir/pkgconfig/bgcopy.pc" >&2; exit 1; }
    echo "installed into $prefix"
    ;;
find_package)
    out="$work/find_package"
    rm -rf "$out"
    gen=()
    [[ -n "${BGCOPY_CMAKE_GENERATOR:-}" ]] && gen=(-G "$BGCOPY_CMAKE_GENERATOR")
    # CMAKE_FIND_USE_PACKAGE_REGISTRY/SYSTEM paths off: only the prefix under test may match.
    run "$cmake" -S "$src" -B "$out" "${gen[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release
    run "$cmake" --build "$out"
    exe="$out/bgcopy_consumer"
    # The program must load the installed library, not the build tree's.
    needed=$(LD_LIBRARY_PATH="$libdir" ldd "$exe" | awk '/libbgcopy/ {print $3}')
    echo "libbgcopy resolves to: $needed"
    [[ "$(readlink -f "$needed")" == "$(readlink -f "$libdir/libbgcopy.so")" ]] \
        || { echo "consumer does not load $libdir/libbgcopy.so" >&2; exit 1; }
    run env LD_LIBRARY_PATH="$libdir" "$exe"
    ;;
pkg_config)
    out="$work/pkg_config"
    rm -rf "$out"
    mkdir -p "$out"
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
    run pkg-config --modversion bgcopy
    flags=$(pkg-config --cflags --libs bgcopy)
    echo "pkg-config --cflags --libs bgcopy: $flags"
    # shellcheck disable=SC2086 # word splitting of the flags is wanted
    run "$cc" -std=c11 -Wall -Wextra -Werror -o "$out/bgcopy_consumer" "$src/main.c" $flags
    run env LD_LIBRARY_PATH="$libdir" "$out/bgcopy_consumer"
    ;;
*)
    echo "unknown mode: $mode" >&2
    exit 2
    ;;
esac
