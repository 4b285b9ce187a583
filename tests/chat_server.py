"""A real OpenAI-compatible chat-completions server on 127.0.0.1, answering from a script.

Tests and the bench use it where the real endpoint cannot be reached: it speaks the protocol the OpenAI
client speaks (POST /v1/chat/completions, `response_format` json_schema or `tools`, `usage` tokens,
429 with Retry-After, slow answers), and records every request. Each reply is taken from the script in
order; when the script is empty, `fallback` (if any) answers from the request, e.g. `cite_first_passage`.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PASSAGE = re.compile(r'<passage id="([^"]+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)


@dataclass(frozen=True)
class Reply:
    content: str = ""  # the assistant's answer text (JSON for structured output)
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering (longer than the client's timeout = a timeout)
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens; default: estimated from the text

    @classmethod
    def answer(cls, value: dict | str, delay: float = 0.0, usage: tuple[int, int] | None = None) -> Reply:
        return cls(content=value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), delay=delay,
                   usage=usage)

    @classmethod
    def error(cls, status: int, retry_after_ms: int | None = None) -> Reply:
        headers = (("retry-after-ms", str(retry_after_ms)),) if retry_after_ms is not None else ()
        return cls(status=status, headers=headers)


@dataclass
class Request:
    body: dict
    at: float

    @property
    def user_text(self) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.body.get("messages", []) if m.get("role") == "user")


def passages(request: Request) -> list[tuple[str, str]]:
    """(chunk id, text) of the evidence passages in a request, unescaped as the model would read them."""
    return [(html.unescape(cid), html.unescape(text)) for cid, text in _PASSAGE.findall(request.user_text)]


def cite_first_passage(request: Request, level: int = 1) -> Reply:
    """A well-behaved answer: the given level, quoting the first evidence passage verbatim."""
    found = passages(request)
    citations = [{"chunk_id": found[0][0], "quote": found[0][1][:60], "status": "achieved"}] if found and level else []
    return Reply.answer({"level": level if found else 0, "rationale": "Scripted answer.", "citations": citations,
                         "confidence": 0.5, "missing_for_next_rung": "more evidence"})


@dataclass
class ChatServer:
    """Context manager: `with ChatServer([Reply.answer(...)]) as server: server.base_url`."""

    script: list[Reply] = field(default_factory=list)
    fallback: Callable[[Request], Reply] | None = None
    latency: float = 0.0  # added to every answer (the bench's model time)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue = deque(self.script)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server, "the server is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def next_reply(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        if self.fallback:
            return self.fallback(request)
        return Reply.error(500)

    def __enter__(self) -> ChatServer:
        handler = type("Handler", (_Handler,), {"chat": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    chat: ChatServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not self.path.endswith("/chat/completions"):
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        reply = self.chat.next_reply(Request(body, time.monotonic()))
        time.sleep(reply.delay + self.chat.latency)
        if reply.status != 200:
            error = {"error": {"message": f"scripted HTTP {reply.status}", "type": "scripted", "code": reply.status}}
            return self._send(reply.status, error, reply.headers)
        self._send(200, completion(body, reply))

    def _send(self, status: int, document: dict, headers: tuple[tuple[str, str], ...] = ()) -> None:
        data = json.dumps(document, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout): nothing to answer


def completion(body: dict, reply: Reply) -> dict:
    """A chat.completion document: the answer as content, or as a tool call when tools were offered."""
    prompt_text = "".join(str(m.get("content") or "") for m in body.get("messages", []))
    tokens = reply.usage or (max(1, len(prompt_text) // 4), max(1, len(reply.content) // 4))
    tools = body.get("tools") or []
    if tools:
        name = tools[0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": reply.content}}]}
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": reply.content}, "stop"
    return {"id": "chatcmpl-loopback", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "loopback"), "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)}}
