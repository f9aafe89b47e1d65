"""FastAPI twins of nanoapi's example apps: `openapi_app` (tests/openapi_app/mod.rs) and
`bench_app` (examples/bench_app/routes.rs), with the same routes, the same types and the same
constraints. A Rust integer type is declared with its range (`u32` is `int` with `ge=0,
le=4294967295`), since that is what nanoapi checks and documents.

Run one with `uvicorn twin:openapi_app` or `uvicorn twin:bench_app` (the runner does).
"""

from enum import Enum
from typing import Annotated, Optional

from fastapi import (
    APIRouter,
    Cookie,
    Depends,
    FastAPI,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Security,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    OpenIdConnect,
)
from pydantic import BaseModel, EmailStr, Field

U8 = Annotated[int, Field(ge=0, le=255)]
U32 = Annotated[int, Field(ge=0, le=4294967295)]
U64 = Annotated[int, Field(ge=0, le=18446744073709551615)]

# --- openapi_app -------------------------------------------------------------------------------

GOOD_KEY = "good-key"
FORBIDDEN_KEY = "forbidden-key"


def check_key(key: str, challenge: str) -> None:
    """Accepts GOOD_KEY, forbids FORBIDDEN_KEY, refuses the rest (nanoapi's `check_key`)."""
    if key == GOOD_KEY:
        return
    if key == FORBIDDEN_KEY:
        raise HTTPException(403, "Not enough permissions")
    raise HTTPException(
        401, "Invalid authentication credentials", headers={"WWW-Authenticate": challenge}
    )


header_key = APIKeyHeader(name="X-API-Key", description="A key in a header.")
query_key = APIKeyQuery(name="api_key")
cookie_key = APIKeyCookie(name="session_key")
bearer = HTTPBearer(bearerFormat="opaque")
basic = HTTPBasic(realm="tests")
read_items = OAuth2PasswordBearer(
    tokenUrl="/token", scopes={"items:read": "Read items.", "items:write": "Change items."}
)
oidc = OpenIdConnect(openIdConnectUrl="https://id.example.com/.well-known/openid-configuration")
any_bearer = HTTPBearer(scheme_name="AnyBearer", auto_error=False)


def by_header(key: Annotated[str, Security(header_key)]) -> str:
    check_key(key, "APIKey")
    return key


def by_query(key: Annotated[str, Security(query_key)]) -> str:
    check_key(key, "APIKey")
    return key


def by_cookie(key: Annotated[str, Security(cookie_key)]) -> str:
    check_key(key, "APIKey")
    return key


def by_bearer_dep(
    creds: Annotated[HTTPAuthorizationCredentials, Security(bearer)],
) -> HTTPAuthorizationCredentials:
    check_key(creds.credentials, "Bearer")
    return creds


def by_basic_dep(creds: Annotated[HTTPBasicCredentials, Security(basic)]) -> HTTPBasicCredentials:
    if (creds.username, creds.password) == ("ana", "s3cret"):
        return creds
    if (creds.username, creds.password) == ("guest", "guest"):
        raise HTTPException(403, "Not enough permissions")
    raise HTTPException(
        401, "Invalid authentication credentials", headers={"WWW-Authenticate": 'Basic realm="tests"'}
    )


def by_oauth2_dep(token: Annotated[str, Security(read_items, scopes=["items:read"])]) -> str:
    check_key(token, "Bearer")
    return token


class Kind(str, Enum):
    tool = "tool"
    toy = "toy"


class Item(BaseModel):
    id: U32
    name: Annotated[str, Field(min_length=1, max_length=40)]
    kind: Kind
    price: Annotated[float, Field(ge=0.0)]
    tags: list[str]


class ItemList(BaseModel):
    items: list[Item]
    limit: U32
    verbose: bool


class NewItem(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=40)]
    kind: Kind
    price: Annotated[float, Field(ge=0.0, le=1000000.0)]
    tags: Annotated[list[str], Field(max_length=8)] = []
    owner: Optional[EmailStr] = None


class Token(BaseModel):
    access_token: str
    token_type: str


class WhoAmI(BaseModel):
    method: str
    headers: int
    cookies: int
    client: Optional[str]


def item(id: int, name: str) -> Item:
    return Item(id=id, name=name, kind=Kind.tool, price=1.5, tags=[])


items = APIRouter(prefix="/items", tags=["items"])


@items.get("")
def list_items(
    limit: Annotated[int, Query(description="How many items to return.", ge=1, le=100)] = 10,
    q: Annotated[Optional[str], Query(description="Only items whose name contains this.")] = None,
    tag: Annotated[list[str], Query(description="Tags to match (repeat the parameter).")] = [],
    verbose: bool = False,
) -> ItemList:
    found = [item(i, "hammer") for i in range(1, min(limit, 3) + 1)]
    return ItemList(items=found, limit=limit, verbose=verbose)


@items.get(
    "/{item_id}",
    summary="Read an item",
    description="One item by id; id 0 is never found.",
    responses={404: {"description": "Item not found"}},
)
def read_item(item_id: Annotated[int, Path(ge=0, le=4294967295)]) -> Item:
    if item_id == 0:
        raise HTTPException(404, "Item not found")
    return item(item_id, "hammer")


@items.post("", summary="Create an item", status_code=201)
def create_item(new: NewItem) -> Item:
    return Item(id=1, name=new.name, kind=new.kind, price=new.price, tags=new.tags)


secure = APIRouter(prefix="/secure", tags=["security"])


@secure.get("/header", response_class=PlainTextResponse)
def secure_header(key: Annotated[str, Depends(by_header)]):
    return f"header key {len(key)}"


@secure.get("/query", response_class=PlainTextResponse)
def secure_query(key: Annotated[str, Depends(by_query)]):
    return f"query key {len(key)}"


@secure.get("/cookie", response_class=PlainTextResponse)
def secure_cookie(key: Annotated[str, Depends(by_cookie)]):
    return f"cookie key {len(key)}"


@secure.get("/bearer", response_class=PlainTextResponse)
def secure_bearer(creds: Annotated[HTTPAuthorizationCredentials, Depends(by_bearer_dep)]):
    return f"bearer {len(creds.credentials)}"


@secure.get("/basic", response_class=PlainTextResponse)
def secure_basic(creds: Annotated[HTTPBasicCredentials, Depends(by_basic_dep)]):
    return f"basic {creds.username}"


@secure.get("/oauth2", response_class=PlainTextResponse)
def secure_oauth2(token: Annotated[str, Depends(by_oauth2_dep)]):
    return f"oauth2 {len(token)}"


@secure.get("/oidc", response_class=PlainTextResponse)
def secure_oidc(value: Annotated[str, Security(oidc)]):
    return f"oidc {len(value)}"


@secure.get("/optional", response_class=PlainTextResponse)
def secure_optional(
    token: Annotated[Optional[HTTPAuthorizationCredentials], Security(any_bearer)],
):
    if token is None:
        return "anonymous"
    return f"token {len(token.credentials)}"


@secure.get("/dependency", response_class=PlainTextResponse, dependencies=[Depends(by_header)])
def secure_dependency():
    return "stats"


admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(by_basic_dep)])


@admin.get("/stats", response_class=PlainTextResponse)
def admin_stats():
    return "stats"


openapi_app = FastAPI(
    title="nanoapi test app",
    version="1.2.3",
    description="Every extractor, body, response and security scheme.",
    servers=[{"url": "http://127.0.0.1:8080", "description": "local"}],
)
COUNTER = {"n": 0}


@openapi_app.get("/")
def root():
    return {"message": "Hello, World!"}


openapi_app.include_router(items)


@openapi_app.get("/users/{user_id}/items/{item}", response_class=PlainTextResponse)
def user_item(
    user_id: Annotated[int, Path(ge=1, le=18446744073709551615)],
    item: Annotated[str, Path(pattern=r"^[a-z]+$")],
):
    return f"{item} of user {user_id}"


@openapi_app.get("/pairs/{a}/{b}", response_class=PlainTextResponse)
def pair(a: str, b: Annotated[int, Path(ge=0, le=255)]):
    return f"{a}:{b}"


@openapi_app.post("/login")
def login(
    username: Annotated[str, Form(min_length=1)], password: Annotated[str, Form()]
) -> Token:
    return Token(access_token=f"token-for-{len(username.encode())}", token_type="bearer")


@openapi_app.get("/headers", response_class=PlainTextResponse)
def headers(
    x_request_id: Annotated[Optional[str], Header(description="The request id, echoed.")] = None,
    user_agent: Annotated[Optional[str], Header()] = None,
):
    return x_request_id or ""


@openapi_app.get("/session", response_class=PlainTextResponse)
def session(theme: Annotated[Optional[str], Cookie()] = None):
    return "light" if theme is None else theme


@openapi_app.post("/raw", response_class=PlainTextResponse)
async def upload_raw(request: Request):
    return str(len(await request.body()))


@openapi_app.post("/note", response_class=PlainTextResponse)
async def note(request: Request):
    body = await request.body()
    try:
        text = body.decode()
    except UnicodeDecodeError:
        msg = "Input should be a valid string, unable to parse raw data as a unicode string"
        raise RequestValidationError(
            [{"type": "string_unicode", "loc": ("body",), "msg": msg, "input": None}]
        )
    return str(len(text))


@openapi_app.post("/upload", operation_id="upload_file", response_class=PlainTextResponse)
async def upload(request: Request):
    return str(len(await request.body()))


@openapi_app.get("/page", response_class=HTMLResponse)
def page():
    return "<h1>items</h1>"


@openapi_app.get("/old", deprecated=True, status_code=307)
def old():
    return RedirectResponse("/page", status_code=307)


@openapi_app.get("/count", response_class=PlainTextResponse)
def count():
    COUNTER["n"] += 1
    return str(COUNTER["n"])


@openapi_app.get("/whoami")
def whoami(request: Request) -> WhoAmI:
    return WhoAmI(
        method=request.method,
        headers=len(request.headers.raw),
        cookies=len(request.cookies),
        client=request.client.host if request.client else None,
    )


@openapi_app.get("/hidden", include_in_schema=False, response_class=PlainTextResponse)
def hidden():
    return "hidden"


openapi_app.include_router(secure)
openapi_app.include_router(admin)

# --- bench_app ---------------------------------------------------------------------------------

bench_app = FastAPI(title="bench_app")


class User(BaseModel):
    user_id: U64
    active: bool
    name: str


@bench_app.get("/")
def bench_root():
    return {"ok": True}


@bench_app.get("/users/{user_id}")
def get_user(user_id: Annotated[int, Path(ge=0, le=18446744073709551615)], verbose: bool = False):
    return {"user_id": user_id, "verbose": verbose}


@bench_app.post("/users")
def create_user(user: User) -> User:
    return user


@bench_app.get("/auth")
def auth(request: Request):
    if "authorization" in request.headers and "session" in request.cookies:
        return {"authorized": True}
    raise HTTPException(401, "Not authenticated")


@bench_app.get("/plaintext", response_class=PlainTextResponse)
def plaintext():
    return "Hello, World!"


@bench_app.get("/json")
def json_message():
    return {"message": "Hello, World!"}
