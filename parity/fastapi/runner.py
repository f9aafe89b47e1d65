"""The FastAPI differential harness: starts nanoapi's example apps and their FastAPI twins
(twin.py), sends every raw request of the corpus (corpus.py) to both over a socket, compares
the status, the headers in HEADERS and the body (as JSON when both are JSON), prints every
difference, and exits non-zero on a difference that allowlist.toml does not list (or on an
allow-list entry that no longer matches a difference: the list stays short and true).

    python runner.py --target target/debug/examples [--report FILE] [--only SUBSTRING]

It needs fastapi, uvicorn, email-validator and python-multipart importable by the Python
that runs it (.ci/fastapi.sh makes a venv).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from corpus import CASES

HERE = Path(__file__).resolve().parent
# The headers compared; the others (date, server, content-length...) differ by design or
# follow from the body.
HEADERS = ("content-type", "allow", "location", "www-authenticate")
# The nanoapi example and the FastAPI twin of each app.
APPS = {"openapi_app": "twin:openapi_app", "bench_app": "twin:bench_app"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, proc, name, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    log.seek(0)
    sys.exit(f"{name} did not start on port {port}:\n{log.read().decode(errors='replace')}")


class Servers:
    """Every app twice: nanoapi's example and FastAPI's twin, on free ports."""

    def __init__(self, target):
        self.procs = []
        self.ports = {}
        for app, twin in APPS.items():
            port = free_port()
            env = dict(os.environ, NANOAPI_PORT=str(port), NANOAPI_HOST="127.0.0.1",
                       NANOAPI_WORKERS="1")
            self._start(app, "nanoapi", [str(Path(target) / app)], env, port)
            port = free_port()
            command = [sys.executable, "-m", "uvicorn", twin, "--host", "127.0.0.1",
                       "--port", str(port), "--log-level", "warning", "--no-access-log"]
            self._start(app, "fastapi", command, dict(os.environ), port, cwd=HERE)

    def _start(self, app, side, command, env, port, cwd=None):
        import tempfile
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        wait_for(port, proc, f"{side} {app}", log)
        self.ports[(app, side)] = port

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def exchange(port, raw):
    """Sends one raw request (it asks to close the connection) and reads the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return parse_response(b"".join(chunks))


def parse_response(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return {"status": None, "headers": {}, "body": data}
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return {"status": status, "headers": headers, "body": body}


def dechunk(data):
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return bytes(out)


def body_view(body):
    """The body as compared: parsed JSON where it is JSON, else its text."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


# The parts of bodies the allow-list may tell the runner to leave out of the comparison
# (`[[ignore]] what = ...`): what each means.
IGNORABLE = {
    "json_invalid ctx.error": "the `ctx.error` text of every json_invalid error",
}


def without_ignored(body, ignored):
    """The body with the ignored parts left out (a copy)."""
    if "json_invalid ctx.error" in ignored and isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, list):
            body = dict(body, detail=[
                dict(item, ctx={k: v for k, v in item["ctx"].items() if k != "error"})
                if isinstance(item, dict) and item.get("type") == "json_invalid"
                and isinstance(item.get("ctx"), dict) else item
                for item in detail
            ])
    return body


def differences(case, ours, theirs, ignored=()):
    """Every field in which nanoapi's answer differs from FastAPI's: (field, ours, theirs)."""
    found = []
    if ours["status"] != theirs["status"]:
        found.append(("status", ours["status"], theirs["status"]))
    for name in HEADERS:
        a, b = ours["headers"].get(name), theirs["headers"].get(name)
        if name == "content-type" and case.compare_body is False and a and b:
            a, b = a.split(";")[0], b.split(";")[0]
        if a != b:
            found.append((name, a, b))
    if case.compare_body and ours["status"] is not None:
        a = without_ignored(body_view(ours["body"]), ignored)
        b = without_ignored(body_view(theirs["body"]), ignored)
        if a != b:
            found.append(("body", a, b))
    return found


def load_allowlist():
    """The allowed differences by case name, and the set of ignored body parts."""
    with open(HERE / "allowlist.toml", "rb") as f:
        document = tomllib.load(f)
    entries = document.get("allow", [])
    ignores = document.get("ignore", [])
    for entry in entries + ignores:
        if not entry.get("reason"):
            sys.exit(f"allowlist.toml: {entry} has no reason")
    for ignore in ignores:
        if ignore.get("what") not in IGNORABLE:
            sys.exit(f"allowlist.toml: cannot ignore {ignore.get('what')!r}; one of {list(IGNORABLE)}")
    return {entry["case"]: entry for entry in entries}, {i["what"] for i in ignores}


def prune(stale):
    """Rewrites allowlist.toml without the stale TODO entries (fixed differences)."""
    path = HERE / "allowlist.toml"
    blocks = path.read_text().split("\n[[allow]]\n")
    kept = [blocks[0]]
    for block in blocks[1:]:
        entry = tomllib.loads("[[allow]]\n" + block)["allow"][0]
        if not (entry["case"] in stale and entry["reason"].startswith("TODO")):
            kept.append(block)
    path.write_text("\n[[allow]]\n".join(kept))


def render(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default="target/debug/examples")
    parser.add_argument("--report", help="also write the report (markdown) here")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--prune", action="store_true",
                        help="drop the stale 'TODO: not yet fixed' entries from allowlist.toml")
    args = parser.parse_args()

    allow, ignored = load_allowlist()
    cases = [c for c in CASES if not args.only or args.only in c.name]
    names = [c.name for c in CASES]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        sys.exit(f"corpus.py: duplicate case names {sorted(duplicates)}")

    servers = Servers(args.target)
    report = []
    unexpected, allowed, differing = [], [], []
    try:
        for case in cases:
            ours = exchange(servers.ports[(case.app, "nanoapi")], case.raw)
            theirs = exchange(servers.ports[(case.app, "fastapi")], case.raw)
            found = differences(case, ours, theirs, ignored)
            if not found:
                continue
            differing.append(case.name)
            entry = allow.get(case.name)
            tag = f"allowed: {entry['reason']}" if entry else "DIFFERS"
            (allowed if entry else unexpected).append(case.name)
            report.append(f"### {case.name} ({case.app}) {tag}")
            report.append(f"    {case.raw[:200]!r}")
            for field, a, b in found:
                report.append(f"  {field}:")
                report.append(f"    nanoapi: {render(a)}")
                report.append(f"    fastapi: {render(b)}")
    finally:
        servers.stop()

    stale = [] if args.only else sorted(set(allow) - set(differing))
    summary = (f"{len(cases)} requests, {len(differing)} differ: {len(allowed)} allowed, "
               f"{len(unexpected)} not allowed; {len(stale)} stale allow-list entries")
    report.append("")
    for name in stale:
        report.append(f"stale allow-list entry (no longer differs): {name}")
    report.append(summary)
    if args.prune and stale:
        prune(stale)
        stale = []
    text = "\n".join(report)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    sys.exit(1 if unexpected or stale else 0)


if __name__ == "__main__":
    main()
