"""A small HTTP fault proxy on loopback: scripted faults per request, then pass-through.

Each request is read whole (headers + Content-Length body); the next scripted
fault, if any, answers it (``"429:2"`` = status 429 with Retry-After: 2,
``"503"``, ``"400:reason"``, ``"hang"`` = never answer, ``"close"`` = drop the
connection); otherwise it is forwarded to the upstream with Connection: close.
``down()`` stops listening (connection refused), ``up()`` listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

from servers import free_port


@dataclass
class Seen:
    at: float
    method: str
    path: str
    answer: str
    body: bytes = b""


@dataclass
class FaultProxy:
    upstream_port: int
    port: int = field(default_factory=free_port)
    faults: list[str] = field(default_factory=list)
    only_path: str = ""  # apply faults only to requests whose path contains this
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.lock = threading.Lock()
        self.hung: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self.thread.start()
        self.up()
        return self

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)  # type: ignore[arg-type]

    def up(self) -> None:
        async def listen() -> None:
            self.server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

        self._call(listen())

    def down(self) -> None:
        async def close() -> None:
            if self.server is not None:
                self.server.close()
                await self.server.wait_closed()
                self.server = None

        self._call(close())

    def stop(self) -> None:
        self.down()

        async def release() -> None:
            for w in self.hung:
                w.close()
            await asyncio.gather(*(w.wait_closed() for w in self.hung), return_exceptions=True)
            current = asyncio.current_task()
            for _ in range(10):  # a handler accepted meanwhile is a new task: round again
                tasks = [t for t in asyncio.all_tasks() if t is not current]
                if not tasks:
                    break
                for task in tasks:
                    task.cancel()
                # let every handler run its finally (closing its sockets) before the loop stops
                await asyncio.gather(*tasks, return_exceptions=True)
            # transports finish closing in callbacks of later iterations; on a loaded
            # machine three bare iterations were not always enough (unclosed transports)
            await asyncio.sleep(0.2)

        self._call(release())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)  # a loaded CI machine can be slow to finish the last callbacks
        if not self.thread.is_alive():
            self.loop.close()

    def script(self, *faults: str) -> None:
        with self.lock:
            self.faults.extend(faults)

    def _next_fault(self, path: str) -> str:
        with self.lock:
            if self.faults and self.only_path in path:
                return self.faults.pop(0)
        return "pass"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung = False
        try:
            hung = await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except BaseException:  # cancelled or closed: as in _forward, close and await nothing
            writer.close()
            raise
        if not hung:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; True when the connection is left hanging on purpose."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = _content_length(head)
        body = await reader.readexactly(length) if length else b""
        method, path = head.split(b" ", 2)[:2]
        fault = self._next_fault(path.decode())
        self.seen.append(Seen(time.time(), method.decode(), path.decode(), fault, body))
        if fault == "hang":
            self.hung.append(writer)
            return True
        if fault == "pass":
            await self._forward(head, body, writer)
        elif fault != "close":
            writer.write(_fault_response(fault))
            await writer.drain()
        return False

    async def _forward(self, head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
            request = b"\r\n".join(lines[:-2]) + b"\r\nConnection: close\r\n\r\n" + body
            up_writer.write(request)
            await up_writer.drain()
            with contextlib.suppress(ConnectionError):
                while chunk := await up_reader.read(65536):
                    writer.write(chunk)
            await writer.drain()
        except BaseException:
            # cancelled by stop(), or closed by the garbage collector: close, await nothing
            # more (an await here swallowed the cancellation, the task outlived the loop,
            # and its GeneratorExit then hit this await: "coroutine ignored GeneratorExit")
            up_writer.close()
            raise
        up_writer.close()
        with contextlib.suppress(ConnectionError):
            await up_writer.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def _fault_response(fault: str) -> bytes:
    status, _, extra = fault.partition(":")
    headers = ""
    body = f'{{"message": "fault proxy: {status}"}}'
    if status in ("429", "503") and extra:
        headers = f"Retry-After: {extra}\r\n"
    elif extra:
        body = f'{{"message": "{extra}"}}'
    return (
        f"HTTP/1.1 {status} Fault\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()
