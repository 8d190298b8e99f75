"""A loopback HTTP server standing in for weight sources: serves files, refuses (404) or stalls.

``LoopbackServer({"/a.pth": payload})`` serves ``payload`` at ``/a.pth`` (honouring ``Range``) and 404
everywhere else; paths in ``stall`` accept the connection and never answer until the server closes.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterable

__all__ = ["LoopbackServer", "closed_port_url"]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1; ``url(path)`` is the address of ``path``; ``requests`` the
    paths asked for, in order. Use as a context manager (or call :meth:`close`)."""

    def __init__(self, files: dict[str, bytes], stall: Iterable[str] = ()) -> None:
        self.files = dict(files)
        self.stall = set(stall)
        self.requests: list[str] = []
        self._release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                server.requests.append(self.path)
                if self.path in server.stall:
                    server._release.wait(30)  # say nothing: the client's timeout has to act
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                status, header = 200, self.headers.get("Range")
                if header:
                    start = int(header.removeprefix("bytes=").rstrip("-"))
                    body, status = body[start:], 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port_url(path: str = "/w.pth") -> str:
    """An address on 127.0.0.1 where nothing listens (connection refused at once): "offline"."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
