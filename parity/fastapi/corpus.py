"""The request corpus: raw HTTP/1.1 requests, each sent as bytes to nanoapi and to FastAPI.
A case names the app it is for (`openapi_app` or `bench_app`, see runner.APPS); its name is
what allowlist.toml refers to."""

import base64
import json
from dataclasses import dataclass


@dataclass
class Case:
    name: str
    app: str
    raw: bytes
    # False: the bodies are not compared (HTML pages, the OpenAPI document), only the status
    # and the headers (the media type without its parameters).
    compare_body: bool = True


CASES = []


def raw(method, target, headers=(), body=None):
    lines = [f"{method} {target} HTTP/1.1", "Host: test", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def add(name, app, method, target, headers=(), body=None, compare_body=True):
    CASES.append(Case(name, app, raw(method, target, headers, body), compare_body))


def oa(name, method, target, headers=(), body=None, compare_body=True):
    add(name, "openapi_app", method, target, headers, body, compare_body)


def bench(name, method, target, headers=(), body=None):
    add(name, "bench_app", method, target, headers, body)


JSON = [("Content-Type", "application/json")]
FORM = [("Content-Type", "application/x-www-form-urlencoded")]

# --- plain routes --------------------------------------------------------------------------------
oa("root", "GET", "/")
oa("page", "GET", "/page")
oa("page-head", "HEAD", "/page")
oa("old-redirect", "GET", "/old")
oa("count", "GET", "/count")
oa("hidden", "GET", "/hidden")
oa("whoami", "GET", "/whoami", [("Cookie", "a=1; b=2")])
oa("raw-body", "POST", "/raw", [("Content-Type", "application/octet-stream")], b"\x00\x01\xff")
oa("note-utf8", "POST", "/note", [("Content-Type", "text/plain")], "h\u00e9llo")
oa("note-invalid-utf8", "POST", "/note", [("Content-Type", "text/plain")], b"\xff\xfe")
oa("upload", "POST", "/upload", [("Content-Type", "multipart/form-data; boundary=x")],
   b"--x\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nd\r\n--x--\r\n")

# --- routing ---------------------------------------------------------------------------------------
oa("not-found", "GET", "/nope")
oa("not-found-nested", "GET", "/items/1/extra")
oa("trailing-slash-items", "GET", "/items/")
oa("trailing-slash-items-query", "GET", "/items/?limit=2")
oa("trailing-slash-page", "GET", "/page/")
oa("trailing-slash-item", "GET", "/items/1/")
oa("trailing-slash-post", "POST", "/items/", JSON, "{}")
oa("trailing-slash-root-double", "GET", "//")
oa("percent-unreserved", "GET", "/%69tems")
oa("percent-unreserved-upper", "GET", "/%70%61%67%65")
oa("percent-reserved-slash", "GET", "/pairs/a%2Fb/1")
oa("uppercase-path", "GET", "/ITEMS")
oa("method-not-allowed", "DELETE", "/items")
oa("method-not-allowed-put", "PUT", "/page")
oa("options-no-cors", "OPTIONS", "/items")
oa("options-item", "OPTIONS", "/items/1")
oa("docs", "GET", "/docs", compare_body=False)
oa("redoc", "GET", "/redoc", compare_body=False)
oa("openapi-json", "GET", "/openapi.json", compare_body=False)
oa("oauth2-redirect", "GET", "/docs/oauth2-redirect", compare_body=False)

# --- query: GET /items ---------------------------------------------------------------------------
for value in ["1", "5", "100", "0", "101", "-1", "1.0", "5.0", "1.5", "1e2", "abc", "", "%205",
              "5%20", "+5", "1_0", "0x10", "99999999999999999999", "4294967296", "true",
              "%EF%BC%95", "5%00"]:
    oa(f"query-limit={value}", "GET", f"/items?limit={value}")
for query in ["limit=5&limit=200", "limit=200&limit=5", "limit=abc&limit=5", "limit=5&limit=",
              "verbose=true&verbose=maybe", "verbose=maybe&verbose=true", "q=a&q=b",
              "tag=a&tag=b", "tag=a&limit=2&tag=b", "q=", "tag=", "q=%E2%82%AC", "q=a+b",
              "q=%ZZ", "unknown=1", "limit", "&&limit=2&&", "limit=0&verbose=maybe"]:
    oa(f"query-{query}", "GET", f"/items?{query}")
for value in ["true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n", "TRUE",
              "True", "YeS", "%20true", "true%20", "2", "maybe", "", "1.0", "0.0", "-1", "tru"]:
    oa(f"query-verbose={value}", "GET", f"/items?verbose={value}")

# --- path parameters ---------------------------------------------------------------------------
for value in ["1", "0", "4294967295", "4294967296", "99999999999999999999", "-1", "abc", "1.0",
              "1.5", "%31", "1e3", "+1", "01", "1_0", "%20" "1"]:
    oa(f"path-item={value}", "GET", f"/items/{value}")
for user, item in [("1", "abc"), ("0", "abc"), ("1", "ABC"), ("x", "abc"), ("0", "ABC"),
                   ("99999999999999999999", "abc"), ("18446744073709551615", "abc"),
                   ("18446744073709551616", "abc"), ("-5", "a1"), ("1.0", "abc")]:
    oa(f"path-user={user}-item={item}", "GET", f"/users/{user}/items/{item}")
for a, b in [("x", "1"), ("x", "255"), ("x", "256"), ("x", "-1"), ("x", "abc"), ("%20", "1"),
             ("x", "1.0"), ("x", "2.5"), ("%C3%A9", "3"), ("a+b", "4"), ("x", "%32")]:
    oa(f"path-pair={a}/{b}", "GET", f"/pairs/{a}/{b}")

# --- JSON bodies: POST /items ------------------------------------------------------------------
ITEM = {"name": "hammer", "kind": "tool", "price": 9.5}


def item_with(**changes):
    body = dict(ITEM)
    for key, value in changes.items():
        if value is KeyError:
            body.pop(key, None)
        else:
            body[key] = value
    return body


BODIES = {
    "valid": ITEM,
    "valid-all": item_with(tags=["a", "b"], owner="ana@example.com"),
    "missing-name": item_with(name=KeyError),
    "missing-all": {},
    "name-empty": item_with(name=""),
    "name-long": item_with(name="x" * 41),
    "name-int": item_with(name=5),
    "name-null": item_with(name=None),
    "kind-null": item_with(kind=None),
    "kind-car": item_with(kind="car"),
    "kind-int": item_with(kind=1),
    "kind-upper": item_with(kind="TOOL"),
    "price-negative": item_with(price=-1),
    "price-negative-float": item_with(price=-0.5),
    "price-huge": item_with(price=1e7),
    "price-string": item_with(price="1.5"),
    "price-string-int": item_with(price="2"),
    "price-string-inf": item_with(price="inf"),
    "price-string-nan": item_with(price="nan"),
    "price-string-neg-infinity": item_with(price="-Infinity"),
    "price-string-space": item_with(price=" 1.5 "),
    "price-string-junk": item_with(price="1.5x"),
    "price-true": item_with(price=True),
    "price-false": item_with(price=False),
    "price-null": item_with(price=None),
    "price-list": item_with(price=[1]),
    "price-int": item_with(price=3),
    "tags-9": item_with(tags=[str(i) for i in range(9)]),
    "tags-9-ints": item_with(tags=list(range(9))),
    "tags-ints": item_with(tags=[1, 2]),
    "tags-string": item_with(tags="a"),
    "tags-dict": item_with(tags={"a": 1}),
    "tags-null": item_with(tags=None),
    "owner-valid": item_with(owner="ana@example.com"),
    "owner-no-at": item_with(owner="ana.example.com"),
    "owner-two-at": item_with(owner="a@b@example.com"),
    "owner-no-dot": item_with(owner="ana@localhost"),
    "owner-empty-local": item_with(owner="@example.com"),
    "owner-empty-domain": item_with(owner="ana@"),
    "owner-space": item_with(owner="a na@example.com"),
    "owner-special-use": item_with(owner="ana@host.local"),
    "owner-dot-before-at": item_with(owner="ana.@example.com"),
    "owner-dot-start": item_with(owner=".ana@example.com"),
    "owner-two-dots": item_with(owner="a..na@example.com"),
    "owner-hyphen-domain": item_with(owner="ana@-example.com"),
    "owner-bad-tld": item_with(owner="ana@example.c0m"),
    "owner-domain-dots": item_with(owner="ana@example..com"),
    "owner-comma-and-colon": item_with(owner="a,n:a@example.com"),
    "owner-tab": item_with(owner="a\tna@example.com"),
    "owner-intl": item_with(owner="ana@exämple.com"),
    "owner-null": item_with(owner=None),
    "owner-int": item_with(owner=5),
    "extra-field": item_with(id=99, extra="x"),
    "list": [ITEM],
    "string": "hammer",
    "null": None,
    "number": 5,
    "true": True,
    "two-errors": item_with(name="", price=-1),
}
for label, body in BODIES.items():
    oa(f"json-{label}", "POST", "/items", JSON, json.dumps(body))

for label, text in {
    "malformed-trailing-comma": '{"name": "hammer",}',
    "malformed-multiline": '{\n  "name": "hammer",\n  "kind": tool\n}',
    "malformed-multiline-3": '{\n"name": "x",\n"kind": "tool",\n"price": 1,,\n}',
    "malformed-truncated": '{"name": "hammer"',
    "malformed-word": "hello",
    "malformed-second-line": '{"name": "x"}\nextra',
    "nan-literal": '{"name": "x", "kind": "tool", "price": NaN}',
    "infinity-literal": '{"name": "x", "kind": "tool", "price": Infinity}',
    "bom": '\ufeff{"name": "x", "kind": "tool", "price": 1}',
    "big-int-price": '{"name": "x", "kind": "tool", "price": 99999999999999999999}',
    "whitespace-only": "   ",
    "empty": "",
}.items():
    oa(f"json-{label}", "POST", "/items", JSON, text)

VALID = json.dumps(ITEM)
oa("json-invalid-utf8", "POST", "/items", JSON, b'{"name": "\xff", "kind": "tool", "price": 1}')
oa("json-no-content-type", "POST", "/items", (), VALID)
oa("json-no-content-type-invalid", "POST", "/items", (), json.dumps(item_with(price=-1)))
oa("json-text-plain", "POST", "/items", [("Content-Type", "text/plain")], VALID)
oa("json-form", "POST", "/items", FORM, "name=x&kind=tool&price=1")
oa("json-multipart", "POST", "/items", [("Content-Type", "multipart/form-data; boundary=x")],
   b"--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--x--\r\n")
oa("json-vnd-json", "POST", "/items", [("Content-Type", "application/vnd.api+json")], VALID)
oa("json-charset", "POST", "/items", [("Content-Type", "application/json; charset=utf-8")], VALID)
oa("json-upper-type", "POST", "/items", [("Content-Type", "Application/JSON")], VALID)
oa("json-octet-stream", "POST", "/items", [("Content-Type", "application/octet-stream")], VALID)
oa("json-no-body", "POST", "/items", JSON)
CASES.append(Case("json-chunked", "openapi_app",
                  raw("POST", "/items", JSON + [("Transfer-Encoding", "chunked")])[:-2]
                  + f"\r\n{len(VALID):x}\r\n{VALID}\r\n0\r\n\r\n".encode()))

# --- forms: POST /login --------------------------------------------------------------------------
for label, body in {
    "valid": "username=ana&password=pw",
    "missing-username": "password=pw",
    "missing-both": "",
    "empty-username": "username=&password=pw",
    "empty-password": "username=ana&password=",
    "repeated-username": "username=ana&username=bob&password=pw",
    "repeated-empty-last": "username=ana&username=&password=pw",
    "plus-and-escapes": "username=a+b%21&password=%E2%82%AC",
    "unknown-field": "username=ana&password=pw&extra=1",
}.items():
    oa(f"form-{label}", "POST", "/login", FORM, body)
oa("form-json-body", "POST", "/login", JSON, '{"username": "ana", "password": "pw"}')
oa("form-text-body", "POST", "/login", [("Content-Type", "text/plain")], "username=ana")
oa("form-no-content-type", "POST", "/login", (), "username=ana&password=pw")
oa("form-multipart", "POST", "/login", [("Content-Type", "multipart/form-data; boundary=x")],
   b"--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nana\r\n"
   b"--x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npw\r\n--x--\r\n")

# --- headers and cookies ---------------------------------------------------------------------
oa("header-request-id", "GET", "/headers", [("X-Request-Id", "abc")])
oa("header-request-id-repeated", "GET", "/headers", [("X-Request-Id", "a"), ("X-Request-Id", "b")])
oa("header-request-id-underscore", "GET", "/headers", [("X_Request_Id", "abc")])
oa("header-none", "GET", "/headers")
oa("cookie-theme", "GET", "/session", [("Cookie", "theme=dark")])
oa("cookie-theme-repeated", "GET", "/session", [("Cookie", "theme=dark; theme=light2")])
oa("cookie-theme-two-fields", "GET", "/session", [("Cookie", "theme=a"), ("Cookie", "theme=b")])
oa("cookie-theme-quoted", "GET", "/session", [("Cookie", 'theme="dark"')])
oa("cookie-theme-empty", "GET", "/session", [("Cookie", "theme=")])
oa("cookie-none", "GET", "/session")

# --- security ------------------------------------------------------------------------------------
for label, headers in {
    "none": [],
    "good": [("X-API-Key", "good-key")],
    "forbidden": [("X-API-Key", "forbidden-key")],
    "bad": [("X-API-Key", "nope")],
    "empty": [("X-API-Key", "")],
    "repeated": [("X-API-Key", "nope"), ("X-API-Key", "good-key")],
}.items():
    oa(f"secure-header-{label}", "GET", "/secure/header", headers)
    oa(f"secure-dependency-{label}", "GET", "/secure/dependency", headers)
for label, query in {"none": "", "good": "?api_key=good-key", "bad": "?api_key=nope",
                     "forbidden": "?api_key=forbidden-key", "empty": "?api_key=",
                     "good-then-bad": "?api_key=good-key&api_key=nope",
                     "bad-then-good": "?api_key=nope&api_key=good-key"}.items():
    oa(f"secure-query-{label}", "GET", f"/secure/query{query}")
for label, cookie in {"good": "session_key=good-key", "bad": "session_key=nope",
                      "repeated": "session_key=nope; session_key=good-key",
                      "empty": "session_key="}.items():
    oa(f"secure-cookie-{label}", "GET", "/secure/cookie", [("Cookie", cookie)])
oa("secure-cookie-none", "GET", "/secure/cookie")
for label, value in {
    "good": "Bearer good-key",
    "lower-scheme": "bearer good-key",
    "two-spaces": "Bearer  good-key",
    "trailing-space": "Bearer good-key ",
    "tab": "Bearer\tgood-key",
    "no-token": "Bearer",
    "scheme-space": "Bearer ",
    "basic": "Basic Z29vZC1rZXk=",
    "forbidden": "Bearer forbidden-key",
    "bad": "Bearer nope",
    "extra-word": "Bearer good-key extra",
}.items():
    for route in ["bearer", "oauth2", "optional", "oidc"]:
        oa(f"secure-{route}-{label}", "GET", f"/secure/{route}", [("Authorization", value)])
for route in ["bearer", "oauth2", "optional", "oidc"]:
    oa(f"secure-{route}-none", "GET", f"/secure/{route}")


def basic(text):
    return "Basic " + base64.b64encode(text.encode()).decode()


for label, value in {
    "good": basic("ana:s3cret"),
    "guest": basic("guest:guest"),
    "bad": basic("ana:nope"),
    "no-colon": basic("ana"),
    "not-base64": "Basic !!!",
    "lower-scheme": basic("ana:s3cret").replace("Basic", "basic"),
    "bearer": "Bearer x",
    "two-spaces": basic("ana:s3cret").replace(" ", "  "),
}.items():
    oa(f"secure-basic-{label}", "GET", "/secure/basic", [("Authorization", value)])
    oa(f"admin-stats-{label}", "GET", "/admin/stats", [("Authorization", value)])
oa("secure-basic-none", "GET", "/secure/basic")
oa("admin-stats-none", "GET", "/admin/stats")

# --- bench_app -----------------------------------------------------------------------------------
bench("bench-root", "GET", "/")
bench("bench-plaintext", "GET", "/plaintext")
bench("bench-json", "GET", "/json")
for value in ["1", "0", "abc", "-1", "99999999999999999999", "18446744073709551615", "1.0"]:
    bench(f"bench-user={value}", "GET", f"/users/{value}")
for query in ["verbose=yes", "verbose=2", "verbose=1&verbose=0", "verbose=%20true"]:
    bench(f"bench-user-{query}", "GET", f"/users/1?{query}")
bench("bench-user-both-invalid", "GET", "/users/abc?verbose=maybe")
USER = {"user_id": 1, "active": True, "name": "ana"}
for label, text in {
    "valid": json.dumps(USER),
    "id-float": '{"user_id": 1.0, "active": true, "name": "ana"}',
    "id-float-5": '{"user_id": 5.0, "active": true, "name": "ana"}',
    "id-float-frac": '{"user_id": 1.5, "active": true, "name": "ana"}',
    "id-string": '{"user_id": "7", "active": true, "name": "ana"}',
    "id-string-float": '{"user_id": "1.0", "active": true, "name": "ana"}',
    "id-string-float-frac": '{"user_id": "1.5", "active": true, "name": "ana"}',
    "id-true": '{"user_id": true, "active": true, "name": "ana"}',
    "id-9.5e15": '{"user_id": 9.5e15, "active": true, "name": "ana"}',
    "id-1e20": '{"user_id": 1e20, "active": true, "name": "ana"}',
    "id-big": '{"user_id": 99999999999999999999, "active": true, "name": "ana"}',
    "id-u64-max": '{"user_id": 18446744073709551615, "active": true, "name": "ana"}',
    "id-negative": '{"user_id": -1, "active": true, "name": "ana"}',
    "id-negative-big": '{"user_id": -99999999999999999999, "active": true, "name": "ana"}',
    "id-null": '{"user_id": null, "active": true, "name": "ana"}',
    "active-2": '{"user_id": 1, "active": 2, "name": "ana"}',
    "active-1": '{"user_id": 1, "active": 1, "name": "ana"}',
    "active-0": '{"user_id": 1, "active": 0, "name": "ana"}',
    "active-0.0": '{"user_id": 1, "active": 0.0, "name": "ana"}',
    "active-1.0": '{"user_id": 1, "active": 1.0, "name": "ana"}',
    "active-yes": '{"user_id": 1, "active": "yes", "name": "ana"}',
    "active-off": '{"user_id": 1, "active": "off", "name": "ana"}',
    "active-space-true": '{"user_id": 1, "active": " true", "name": "ana"}',
    "active-null": '{"user_id": 1, "active": null, "name": "ana"}',
    "name-int": '{"user_id": 1, "active": true, "name": 5}',
    "name-bool": '{"user_id": 1, "active": true, "name": true}',
    "missing": '{"user_id": 1}',
    "bom": '\ufeff{"user_id": 1, "active": true, "name": "ana"}',
    "text-plain": json.dumps(USER),
    "no-content-type": json.dumps(USER),
}.items():
    headers = JSON
    if label == "text-plain":
        headers = [("Content-Type", "text/plain")]
    elif label == "no-content-type":
        headers = []
    bench(f"bench-create-{label}", "POST", "/users", headers, text)
for label, headers in {
    "none": [],
    "header-only": [("Authorization", "x")],
    "both": [("Authorization", "x"), ("Cookie", "session=1")],
    "cookie-only": [("Cookie", "session=1")],
}.items():
    bench(f"bench-auth-{label}", "GET", "/auth", headers)
