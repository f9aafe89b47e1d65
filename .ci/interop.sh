# Shared by the interop stages (ws.sh, compression.sh), sourced: a venv with a few PyPI
# packages, and an example started on one backend.

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# interop_venv NAME PACKAGE...: sets $venv to target/NAME-venv (made if missing) with the
# packages installed.
interop_venv() {
    local name=$1
    shift
    venv=$target/$name-venv
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

# start_example NAME BACKEND PORT: runs the release build of example NAME with one worker on
# BACKEND and PORT in the background; sets $server to its pid.
start_example() {
    NANOAPI_BACKEND=$2 NANOAPI_PORT=$3 NANOAPI_WORKERS=1 \
        "$target/release/examples/$1" >/dev/null 2>&1 &
    server=$!
}

# interop SCRIPT PORT LABEL: runs tests/python/SCRIPT against PORT with the venv's Python; on
# failure stops $server and fails with LABEL.
interop() {
    if ! "$venv/bin/python" "tests/python/$1" "$2"; then
        kill "$server" 2>/dev/null || true
        echo "$3: FAILED"
        exit 1
    fi
}
