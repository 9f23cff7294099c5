"""A scriptable OpenAI-compatible server over real HTTP, for testing the LLM client end to end.

    with FakeLLMServer() as server:
        server.script("plain text", Reply(status=500), Reply(delay_s=3), Reply(text="a b", chunks=["a", " b"]))
        model = OpenAIChatModel(base_url=server.base_url, ...)
        server.requests[0].body["messages"]

``/v1/chat/completions`` answers from the script queue, in order (``str`` = text content,
``int`` = that HTTP status, a ``Reply``, or a callable given the ``RecordedRequest``); once the
queue is empty the ``default`` callable answers, and without one the server returns 500 so an
unscripted call fails loudly. Every request is recorded in ``requests``.
``/v1/embeddings`` returns deterministic unit vectors unless ``script_embeddings`` queued errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autocrm.core.settings import Settings


@dataclass
class Reply:
    text: str = ""  # the content; for an error status, the error message
    status: int = 200
    delay_s: float = 0.0  # before any byte is sent: longer than the client timeout = a hang
    chunks: list[str] | None = None  # stream deltas; default: the text split at word starts
    chunk_delay_s: float = 0.0  # between stream deltas: a model writing slowly
    usage: tuple[int, int] | None = None  # (prompt, completion); default: word counts
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "0"}


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])


Responder = Callable[[RecordedRequest], "Reply | str | int"]
ReplyLike = Reply | str | int | Responder


def _as_reply(item: Reply | str | int) -> Reply:
    if isinstance(item, Reply):
        return item
    return Reply(status=item) if isinstance(item, int) else Reply(text=item)


class FakeLLMServer:
    def __init__(self, *, model: str = "test-model", embedding_dim: int = 384):
        self.model = model
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self._chat: deque[ReplyLike] = deque()
        self._embeddings: deque[ReplyLike] = deque()
        self._default: Responder | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()  # wakes handlers that simulate a hang
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        # A short poll interval keeps shutdown (each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: ReplyLike, default: Responder | None = None) -> None:
        with self._lock:
            self._chat.extend(replies)
            if default is not None:
                self._default = default

    def script_embeddings(self, *replies: ReplyLike) -> None:
        with self._lock:
            self._embeddings.extend(replies)

    def settings(self, **overrides: Any) -> Settings:
        """Settings pointing the app's LLM client here."""
        from autocrm.core.settings import Settings

        values = {"llm_base_url": self.base_url, "llm_api_key": "test-key", "llm_model": self.model}
        return Settings(**(values | overrides))

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # --- called from handler threads ---

    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> RecordedRequest:
        request = RecordedRequest(path=path, headers=headers, body=body)
        with self._lock:
            self.requests.append(request)
        return request

    def _next(self, request: RecordedRequest) -> Reply | None:
        chat = request.path.endswith("/chat/completions")
        with self._lock:
            queue = self._chat if chat else self._embeddings
            item = queue.popleft() if queue else (self._default if chat else None)
        if callable(item):
            item = item(request)
        if item is None and chat:
            return Reply(status=500, text="llm_server: nothing scripted for this request")
        return None if item is None else _as_reply(item)  # None: the deterministic vectors


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: every response ends by closing the connection, which also delimits SSE streams.
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        fake: FakeLLMServer = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = fake._record(self.path, headers, json.loads(raw or b"{}"))
        if self.path not in ("/v1/chat/completions", "/v1/embeddings"):
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        reply = fake._next(request)
        if reply is not None and fake._closing.wait(reply.delay_s):
            return  # the server is shutting down mid-hang
        try:
            if reply is not None and reply.status != 200:
                error = {"message": reply.text or f"scripted HTTP {reply.status}", "type": "test"}
                self._json(reply.status, {"error": error}, reply.headers)
            elif self.path == "/v1/embeddings":
                self._json(200, _embeddings(request.body, fake.embedding_dim))
            elif request.body.get("stream"):
                self._stream(request.body, reply or Reply(), fake.model)
            else:
                self._json(200, _completion(request.body, reply or Reply(), fake.model))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a timeout test)

    def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, body: dict, reply: Reply, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        base = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
        }
        base["model"] = body.get("model") or model

        def send(choices: list[dict], **extra: Any) -> None:
            event = json.dumps(base | {"choices": choices} | extra)
            self.wfile.write(f"data: {event}\n\n".encode())
            self.wfile.flush()

        send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        chunks = reply.chunks if reply.chunks is not None else re.findall(r"\s*\S+", reply.text)
        for chunk in chunks:
            time.sleep(reply.chunk_delay_s)
            send([{"index": 0, "delta": {"content": chunk}, "finish_reason": None}])
        send([{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}])
        if (body.get("stream_options") or {}).get("include_usage"):
            send([], usage=_usage(body, reply))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


def _usage(body: dict, reply: Reply) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion = len((reply.text or "".join(reply.chunks or [])).split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(body: dict, reply: Reply, model: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": _usage(body, reply),
    }


def _embeddings(body: dict, default_dim: int) -> dict:
    texts = body.get("input", [])
    texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
    dim = body.get("dimensions") or default_dim
    # The openai client asks for base64 (packed float32) unless told otherwise, as OpenAI does.
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for i, text in enumerate(texts):
        vector = _vector(text, dim)
        if as_base64:
            vector = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vector})
    tokens = sum(len(t.split()) for t in texts)
    return {
        "object": "list",
        "model": body.get("model", ""),
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _vector(text: str, dim: int) -> list[float]:
    """A unit vector fixed by the text: the same text always embeds the same."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    values = [rng.gauss(0, 1) for _ in range(dim)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]
