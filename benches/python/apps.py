"""The same two routes for every Python server of benches/python.sh:

* ``GET /plaintext``: ``Hello, World!`` as text/plain;
* ``POST /echo``: the JSON body parsed with ``json.loads`` and written back with ``json.dumps``.

One app per interface: the tuple protocol (nanoapi's package and its ctypes host), WSGI
(nanoapi.wsgi and granian), RSGI (granian) and raw ASGI (uvicorn).
"""

import json

HELLO = b"Hello, World!"


def tuple_app(request):
    if request.method == "POST":
        return 200, "application/json", json.dumps(json.loads(request.body))
    return 200, "text/plain", HELLO


def wsgi_app(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.dumps(json.loads(environ["wsgi.input"].read(size))).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [HELLO]


async def rsgi_app(scope, proto):
    if scope.method == "POST":
        body = json.dumps(json.loads(await proto())).encode()
        proto.response_bytes(200, [("content-type", "application/json")], body)
        return
    proto.response_bytes(200, [("content-type", "text/plain")], HELLO)


async def asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = json.dumps(json.loads(b"".join(chunks))).encode()
        content_type = b"application/json"
    else:
        body, content_type = HELLO, b"text/plain"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})
