"""The consumers the suite runs against: one entry each.

A consumer is a command that starts a server serving the parity app (README.md), prints
``PORT <n>`` on its first line of output, and drains and exits 0 at SIGTERM. It reads
``NANOAPI_BACKEND``. ``{target}`` in the command is the cargo target directory and ``{python}``
this interpreter. The first consumer is the reference: every other consumer's observations must
equal its own.

``not_applicable`` names the behaviours a consumer does not serve, with the reason (shown in
PARITY.md); ``paths`` maps a role (``hello``, ``chunked``) to the consumer's own route when its
app is not the parity app.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Consumer:
    name: str
    command: list
    description: str
    not_applicable: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)


_SSR_APP = "the SSR site is not the parity app: it has pages and assets, no such route"
_SSR_BODY = "the SSR site reads no request bodies (GET and HEAD only)"

CONSUMERS = [
    Consumer(
        name="raw",
        command=["{target}/debug/examples/parity_raw"],
        description="`examples/parity_raw.rs`: a plain async dispatcher on the bare runtime",
    ),
    Consumer(
        name="ffi-python",
        command=["{python}", "examples/ffi_python/app.py"],
        description="`examples/ffi_python/app.py`: Python handlers through the C ABI "
        "(`ffi/`, blocking dispatch)",
    ),
    Consumer(
        name="python-package",
        command=["{python}", "examples/ffi_python/app.py", "--package"],
        description="the same app on the compiled `nanoapi` Python package (`python/`, PyO3, "
        "the interpreter lock taken once per batch)",
    ),
    Consumer(
        name="c",
        command=["{target}/debug/parity-c"],
        description="`examples/ffi_c/parity.c`: the parity app in C through the C ABI "
        "(pool mode), linked with the static library",
    ),
    Consumer(
        name="ssr",
        command=["{target}/debug/ssr-example"],
        description="`examples/ssr`: the codegen-routed SSR site (its asset `/assets/hello.txt` "
        "plays `/hello`, its page `/about` plays `/chunked`)",
        paths={"hello": "/assets/hello.txt", "chunked": "/about"},
        not_applicable={
            "request_body_content_length": _SSR_BODY,
            "request_body_chunked": _SSR_BODY,
            "expect_100_continue": _SSR_BODY,
            "body_too_large_413": _SSR_BODY,
            "bad_chunk_size_400": _SSR_BODY,
            "extra_and_multi_valued_headers": _SSR_APP,
            "streaming_timing": _SSR_APP + " (its own tests hold a page between head and body)",
            "no_content_204": _SSR_APP,
            "handler_error_500": _SSR_APP,
            "static_route": _SSR_APP,
        },
    ),
    Consumer(
        name="app",
        command=["{target}/debug/examples/parity_app"],
        description="`examples/parity_app.rs`: the parity app as `App` routes (typed handlers, "
        "a static route in the runtime's cache)",
    ),
]
