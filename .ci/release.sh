#!/usr/bin/env bash
# Release readiness (the crates could be published and the C library installed as they are):
#
#   msrv      the installed rustc is at least the declared `rust-version`, and builds the workspace
#   docs      rustdoc with warnings denied (broken intra-doc links included), then once more as
#             docs.rs builds it (`--cfg docsrs`, nightly `doc_cfg` badges)
#   licenses  every crate in the dependency tree is under a licence of deny.toml's allow-list
#             (cargo-deny, offline)
#   package   `cargo package` of nanoapi-executor, nanoapi-macros, nanoapi and nanoapi-ffi
#             together, verified, and what each crate carries: no file over 256 KiB, no build artefact or fixture
#   c_install the C library built, installed with ffi/Makefile into a temporary prefix, and
#             ffi/examples/hello.c compiled through pkg-config (shared and static) and served
#
# Every step runs even if an earlier one failed; each prints its duration. One step alone:
# `bash .ci/release.sh package` (msrv, docs, licenses, package, c_install).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never

# The MSRV check. The workspace declares `rust-version` once (workspace.package); Cargo refuses
# an older compiler for every crate that inherits it. The declared version, 1.95, is also the
# only toolchain on the CI machines (and nothing outside the package registries can be
# downloaded, so rustup cannot fetch another), so building with the installed rustc *is* the
# MSRV build as long as the two are equal; if the installed rustc becomes newer, this is no
# longer a proof of the MSRV and the check says so.
msrv() {
    local declared installed
    declared=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
    installed=$(rustc --version | awk '{print $2}')
    echo "declared rust-version ${declared}, installed rustc ${installed}"
    if ! printf '%s\n%s\n' "${declared}" "${installed}" | sort -V -C; then
        echo "rustc ${installed} is older than the declared rust-version ${declared}"
        return 1
    fi
    if [ "${installed%.*}" != "${declared%.*}" ]; then
        echo "note: rustc ${installed} is newer than ${declared}: this build does not prove the MSRV"
    fi
    # Every crate (every target is built by the build stage with the same compiler).
    cargo build --workspace --locked
}

# Rustdoc as users and docs.rs see it. The second pass sets `--cfg docsrs`, which turns on
# `#![feature(doc_cfg)]`; RUSTC_BOOTSTRAP=1 lets this stable rustdoc accept it, for this
# command only, since no nightly toolchain can be installed here.
docs() {
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --workspace --locked
    RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
        cargo doc --no-deps --all-features --workspace --locked
}

# Licences with cargo-deny (deny.toml says what is allowed and why). Installing it took 3 min
# on a 2-core machine (cargo-deny 0.20.2, built with nice), well under the 6 minutes beyond
# which a script over `cargo metadata` would have been the cheaper check, so the stage installs
# it when missing. `cargo fetch` first: `cargo metadata` needs every platform's packages, and
# the other stages download only this platform's. Then the check runs offline (no advisory
# database is fetched: only the licences are checked here).
licenses() {
    if ! command -v cargo-deny >/dev/null; then
        local start=$SECONDS
        cargo install --locked cargo-deny
        echo "cargo-deny installed in $((SECONDS - start))s"
    fi
    cargo deny --version
    cargo fetch --locked
    cargo deny --offline --locked --workspace check licenses
}

# The crates that are published, in dependency order; ssr-example has `publish = false`.
CRATES=(nanoapi-executor nanoapi-macros nanoapi nanoapi-ffi)
# The largest file a crate may carry.
MAX_FILE_BYTES=$((256 * 1024))

# Packages the four crates in one command: Cargo (1.90+) packages them together, verifying
# each against the others' packaged versions through a local overlay registry, so nanoapi is
# verified against the nanoapi-executor that would be published with it. `--allow-dirty` lets
# a developer run this before committing; CI's clone is clean anyway. The "ignoring test ...
# as ... is not included" warnings are expected: the include lists leave tests and most
# examples in the repository, and Cargo drops their targets from the published manifests.
package() {
    local args=() crate
    for crate in "${CRATES[@]}"; do
        args+=(-p "${crate}")
    done
    # A target directory of its own, new on every run. Cargo trusts a registry crate's build
    # whenever its name and version match, and unpacks the overlay registry's crates into
    # $CARGO_HOME/registry/src/-HASH/ (HASH from the registry's path), reusing what it finds
    # there: on a machine that keeps its target directory or clones into the same path on
    # every run (the CI machine), nanoapi-ffi would be verified against an earlier run's nanoapi.
    local target
    target=$(mktemp -d)
    CARGO_TARGET_DIR="${target}" cargo package --locked --allow-dirty "${args[@]}"
    local bad=0
    for crate in "${CRATES[@]}"; do
        check_contents "${target}/package/${crate}-$(version_of "${crate}").crate" || bad=1
    done
    # The unpacked copies would otherwise pile up, one set per run.
    rm -rf "${target}" "${CARGO_HOME:-${HOME}/.cargo}"/registry/src/-*/nanoapi-*[0-9]
    return "${bad}"
}

# version_of CRATE: the version of a workspace crate.
version_of() {
    cargo metadata --locked --no-deps --format-version 1 | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == sys.argv[1]))
' "$1"
}

# check_contents CRATE_FILE: lists what the .crate file carries and fails on a file over
# MAX_FILE_BYTES or one that looks like a build artefact, a test fixture or a CI file.
check_contents() {
    local file=$1
    echo "${file}: $(tar -tzf "${file}" | wc -l) files, $(du -k "${file}" | cut -f1) KiB compressed"
    tar -tzvf "${file}" | awk -v max="${MAX_FILE_BYTES}" '
        { size = $3; path = $6; total += size }
        size > max { print "  too big (" size " bytes): " path; bad = 1 }
        path ~ /(^|\/)(target|fixtures|snapshots|__pycache__|\.ci|\.github)\// ||
        path ~ /\.(so|a|o|rlib|rmeta|dylib|pyc|png|crate|tar|gz|zip)$/ {
            print "  not for a crate: " path; bad = 1
        }
        END { print "  " NR " files, " total " bytes uncompressed"; exit bad }'
}

# The C library as a C user gets it: ffi/Makefile builds the release library and installs it
# into a temporary prefix; hello.c is compiled with pkg-config's flags, against the shared
# library and then the static one, and each binary serves GET / on a port the kernel picks.
c_install() {
    for tool in pkg-config curl cc; do
        if ! command -v "${tool}" >/dev/null; then
            apt-get update -qq && apt-get install -y -qq pkg-config curl gcc
            break
        fi
    done
    local prefix work
    prefix=$(mktemp -d)
    work=$(mktemp -d)
    make -C ffi build
    make -C ffi install PREFIX="${prefix}"
    ls -l "${prefix}/lib" "${prefix}/include"
    readelf -d "${prefix}/lib/libnanoapi.so" | grep SONAME
    export PKG_CONFIG_PATH="${prefix}/lib/pkgconfig"
    echo "pkg-config: $(pkg-config --modversion nanoapi): $(pkg-config --cflags --libs nanoapi)"
    # shellcheck disable=SC2046 # pkg-config's flags are meant to split
    cc -Wall -Wextra -Werror -o "${work}/hello" ffi/examples/hello.c \
        $(pkg-config --cflags --libs nanoapi)
    # The static library: the same flags, with libnanoapi.a chosen over the .so and the
    # system libraries it needs (Libs.private).
    # shellcheck disable=SC2046
    cc -Wall -Wextra -Werror -o "${work}/hello-static" ffi/examples/hello.c \
        $(pkg-config --cflags nanoapi) \
        $(pkg-config --static --libs nanoapi | sed 's/-lnanoapi/-Wl,-Bstatic -lnanoapi -Wl,-Bdynamic/')
    if ldd "${work}/hello-static" | grep -q nanoapi; then
        echo "hello-static loads a shared libnanoapi"
        return 1
    fi
    LD_LIBRARY_PATH="${prefix}/lib" serve_hello "${work}/hello" "${work}" || return 1
    LD_LIBRARY_PATH="${prefix}/lib" serve_hello "${work}/hello" "${work}" inline || return 1
    serve_hello "${work}/hello-static" "${work}" || return 1
    rm -rf "${prefix}" "${work}"
}

# serve_hello BINARY WORKDIR [MODE]: starts BINARY on port 0 (in MODE, e.g. inline), reads the
# port it prints, checks GET / and a 404 with curl, then stops it with SIGTERM and expects a
# clean exit.
serve_hello() {
    local binary=$1 out="$2/out" pid port="" response status=0
    "${binary}" 0 ${3:-} >"${out}" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        port=$(sed -n 's/^PORT //p' "${out}")
        [ -n "${port}" ] && break
        sleep 0.1
    done
    if [ -z "${port}" ]; then
        echo "${binary} printed no port:"
        cat "${out}"
        kill -KILL "${pid}" 2>/dev/null || true
        return 1
    fi
    response=$(curl -sS -i --max-time 10 "http://127.0.0.1:${port}/" | tr -d '\r')
    echo "${response}" | sed 's/^/  /'
    if ! echo "${response}" | head -n 1 | grep -qx 'HTTP/1.1 200 OK' ||
        [ "$(echo "${response}" | tail -n 1)" != "Hello, World!" ]; then
        echo "GET / did not answer 200 Hello, World!"
        status=1
    fi
    if [ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:${port}/x")" != 404 ]; then
        echo "GET /x did not answer 404"
        status=1
    fi
    kill -TERM "${pid}"
    if ! wait "${pid}"; then
        echo "${binary} did not exit cleanly after SIGTERM:"
        cat "${out}"
        status=1
    fi
    return "${status}"
}

# With a step's name: run that step alone, under `set -e` (a function called as an `if`
# condition would run with errexit off, so each step is its own process).
if [ $# -eq 1 ]; then
    "$1"
    exit 0
fi

failed=0
for name in msrv docs licenses package c_install; do
    start=$SECONDS
    echo "--- release: ${name}"
    if bash "$0" "${name}"; then
        echo "--- release: ${name} ok in $((SECONDS - start))s"
    else
        echo "--- release: ${name} FAILED (exit $?) after $((SECONDS - start))s"
        failed=1
    fi
done

if [ "${failed}" -ne 0 ]; then
    echo "--- release: FAILED"
    exit 1
fi
echo "--- release: all steps ok"
