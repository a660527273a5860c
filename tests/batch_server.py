"""A small OpenAI-compatible Files + Batches server for tests, bound to 127.0.0.1 only.

Routes: POST /v1/files (multipart upload, purpose=batch), POST /v1/batches, GET /v1/batches/{id}
("in_progress" for the first ``polls_before_done`` retrievals, then "completed"), GET
/v1/files/{id}/content, and POST /v1/chat/completions for the synchronous calls a collect makes.
Objects and result lines have the fields and shapes of the real recordings in
shared/reference/openai-wire/majikthys-bot_team__chat_gpt_batch_{submit,results}.yml; the chat
completions inside are built by scripted_server, so a batch answer and a synchronous answer to the
same request are the same bytes. Every id is derived from content, so a re-recording is identical.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from scripted_server import Reply, Responder, _completion, _error_body, _json_bytes, fenced_sources

CREATED = 1762722030
DAY = 86_400


def _id(prefix: str, *parts: str, n: int = 24) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:n]


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    # Responses-style names inside a chat-completions batch, as the real batch object has them
    return {
        "input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion,
        "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0},
    }


class BatchServer:
    """Answers each batch line with ``batch_responder`` (an error Reply puts the line in the error
    file) and each synchronous chat request with ``chat_responder``."""

    def __init__(self, batch_responder: Responder, chat_responder: Responder | None = None, *, polls_before_done: int = 1) -> None:
        self.batch_responder = batch_responder
        self.chat_responder: Responder = chat_responder or (lambda _body: Reply.status(500, "no synchronous answers scripted"))
        self.polls_before_done = polls_before_done
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.chat_bodies: list[dict[str, Any]] = []
        self.routes: list[str] = []  # "METHOD /path" of every request, in order
        self._polls: dict[str, int] = {}
        self._completions = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("BatchServer is not running: use it in a with block")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> BatchServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)  # loopback only
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="batch-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- routes ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, content_type: str, raw: bytes) -> tuple[int, str, bytes]:
        with self._lock:
            self.routes.append(f"{method} {path}")
            parts = path.strip("/").split("/")
            if method == "POST" and path == "/v1/files":
                return self._upload(content_type, raw)
            if method == "POST" and path == "/v1/batches":
                return self._create(json.loads(raw))
            if method == "GET" and parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in self.batches:
                return 200, "application/json", _json_bytes(self._retrieve(parts[2]))
            if method == "GET" and parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content" and parts[2] in self.files:
                return 200, "application/octet-stream", self.files[parts[2]][1]
            if method == "POST" and path == "/v1/chat/completions":
                return self._chat(json.loads(raw))
        return 404, "application/json", _error_body(f"Invalid URL ({method} {path})", "invalid_request_error")

    def _store_file(self, filename: str, data: bytes, purpose: str) -> dict[str, Any]:
        file_id = _id("file-", filename, hashlib.sha256(data).hexdigest(), n=22)
        obj = {
            "object": "file", "id": file_id, "purpose": purpose, "filename": filename, "bytes": len(data),
            "created_at": CREATED, "expires_at": CREATED + 30 * DAY, "status": "processed", "status_details": None,
        }
        self.files[file_id] = (obj, data)
        return obj

    def _upload(self, content_type: str, raw: bytes) -> tuple[int, str, bytes]:
        form = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw, policy=email.policy.HTTP)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in form.iter_parts():
            fields[str(part.get_param("name", header="content-disposition"))] = (part.get_filename(), bytes(part.get_payload(decode=True)))
        if "file" not in fields or fields.get("purpose", (None, b""))[1] != b"batch":
            return 400, "application/json", _error_body("a file and purpose=batch are required", "invalid_request_error")
        filename, data = fields["file"]
        return 200, "application/json", _json_bytes(self._store_file(filename or "upload.jsonl", data, "batch"))

    def _create(self, body: dict[str, Any]) -> tuple[int, str, bytes]:
        if body.get("input_file_id") not in self.files:
            return 400, "application/json", _error_body(f"No such File object: {body.get('input_file_id')}", "invalid_request_error")
        batch_id = _id("batch_", body["input_file_id"], n=32)
        out, errors, usage, model = [], [], [0, 0], None
        for raw in self.files[body["input_file_id"]][1].decode("utf-8").splitlines():
            line = json.loads(raw)
            reply = self.batch_responder(line["body"])
            ids = {"id": _id("batch_req_", line["custom_id"], n=32), "custom_id": line["custom_id"]}
            request_id = _id("", line["custom_id"], "request", n=32)
            if reply.kind == "error":
                err = json.loads(_error_body(reply.payload, reply.err_type, reply.code_str))
                errors.append({**ids, "response": {"status_code": reply.status_code, "request_id": request_id, "body": err}, "error": None})
                continue
            self._completions += 1
            completion = _completion(reply, line["body"], self._completions)
            usage = [usage[0] + completion["usage"]["prompt_tokens"], usage[1] + completion["usage"]["completion_tokens"]]
            model = completion["model"]
            out.append({**ids, "response": {"status_code": 200, "request_id": request_id, "body": completion}, "error": None})
        files = [self._store_file(f"{batch_id}_{kind}.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode(), "batch_output") if lines else None
                 for kind, lines in (("output", out), ("error", errors))]
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "model": None, "errors": None, "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"], "status": "validating", "output_file_id": None, "error_file_id": None,
            "created_at": CREATED, "in_progress_at": None, "expires_at": CREATED + DAY, "finalizing_at": None, "completed_at": None, "failed_at": None,
            "expired_at": None, "cancelling_at": None, "cancelled_at": None, "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": _usage(0, 0),
            "metadata": body.get("metadata"),
            "_done": {  # what the batch looks like once it has run; dropped from every answer
                "model": model, "output_file_id": files[0]["id"] if files[0] else None, "error_file_id": files[1]["id"] if files[1] else None,
                "request_counts": {"total": len(out) + len(errors), "completed": len(out), "failed": len(errors)},
                "usage": _usage(*usage),
            },
        }
        return 200, "application/json", _json_bytes(self._public(self.batches[batch_id]))

    def _retrieve(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        self._polls[batch_id] = polls = self._polls.get(batch_id, 0) + 1
        done = batch["_done"]
        if polls <= self.polls_before_done:
            batch.update(status="in_progress", in_progress_at=CREATED + 1, request_counts={**done["request_counts"], "completed": 0, "failed": 0})
        else:
            batch.update(status="completed", in_progress_at=CREATED + 1, finalizing_at=CREATED + 39, completed_at=CREATED + 44, **done)
        return self._public(batch)

    @staticmethod
    def _public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    def _chat(self, body: dict[str, Any]) -> tuple[int, str, bytes]:
        self.chat_bodies.append(body)
        reply = self.chat_responder(body)
        if reply.kind == "error":
            return reply.status_code, "application/json", _error_body(reply.payload, reply.err_type, reply.code_str)
        self._completions += 1
        return 200, "application/json", _json_bytes(_completion(reply, body, self._completions))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        owner: BatchServer = self.server.owner  # type: ignore[attr-defined]
        status, ctype, payload = owner.handle(self.command, urlsplit(self.path).path, self.headers.get("content-type") or "", raw)
        self.send_response_only(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET


def answer_each(pick: Callable[[str], Reply | None], otherwise: Responder) -> Responder:
    """A responder that lets ``pick`` choose the reply for a fenced source id, falling back to ``otherwise``."""

    def respond(body: dict[str, Any]) -> Reply:
        sources = fenced_sources(body)
        chosen = pick(sources[0][0]) if sources else None
        return chosen if chosen is not None else otherwise(body)

    return respond
