from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Union

Body = Union[bytes, str, bytearray, Iterable[Union[bytes, str, bytearray]]]
Answer = Union[
    Tuple[int, str, Body],
    Tuple[int, str, Body, Sequence[Tuple[str, str]]],
]

class Request:
    method: str
    target: str
    path: str
    query: Optional[str]
    version: int
    headers: list[tuple[str, str]]
    body: bytes
    client: Optional[tuple[str, int]]
    def header(self, name: str, default: Any = None) -> Any: ...

class Server:
    def __init__(
        self,
        handler: Union[Callable[[Request], Answer], "WSGIHandler"],
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        workers: Optional[int] = None,
        backend: Optional[str] = None,
        threads: int = 1,
        queue: int = 1024,
        batch: int = 16,
        max_body: Optional[int] = None,
    ) -> None: ...
    def add_static(
        self,
        method: str,
        path: str,
        status: int,
        content_type: str,
        body: Union[bytes, str],
        headers: Sequence[Tuple[str, str]] = ...,
    ) -> None: ...
    def compress_static(self) -> None: ...
    def start(self) -> int: ...
    @property
    def port(self) -> int: ...
    def wakeup_fd(self) -> int: ...
    def run(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Server": ...
    def __exit__(self, *exc: Any) -> None: ...

class WSGIHandler:
    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        server_name: str = "127.0.0.1",
        server_port: int = 8000,
        multithread: bool = False,
    ) -> None: ...
    def set_server_port(self, port: int) -> None: ...
