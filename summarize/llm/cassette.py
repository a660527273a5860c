"""Record and replay HTTP exchanges with vcrpy (``--record FILE`` / ``--replay FILE``).

Cassette rules:

* requests match on method, the endpoint path (``.../chat/completions``) and the JSON body
  compared as data, so a changed prompt, schema, model or input fails loudly instead of
  replaying an old answer;
* headers are kept by allow-list in both directions: credentials, cookies, organisation and
  project headers never reach the file; the configured key is also scrubbed from bodies;
* JSON bodies are stored parsed and indented, so a cassette reads like the exchange it holds;
* an interaction is played at most once, and replay reports interactions left unplayed;
* a cassette with YAML anchors or aliases is refused unread: a few hundred bytes of nested aliases
  (a "billion laughs" document) would otherwise expand into gigabytes of request bodies.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import yaml

if TYPE_CHECKING:  # vcrpy is imported when a cassette is used: it costs ~0.2 s of every start otherwise
    import vcr
    from vcr.cassette import Cassette
    from vcr.request import Request

from summarize.errors import CassetteError

KEEP_REQUEST_HEADERS = {"content-type", "accept"}
KEEP_RESPONSE_HEADERS = {"content-type", "retry-after", "retry-after-ms"}
KEEP_RESPONSE_PREFIXES = ("x-ratelimit-",)
REDACTED = "<redacted>"


def _endpoint(path: str) -> str:
    """The API route without any deployment prefix: /openai/v1/chat/completions -> chat/completions."""
    parts = [p for p in path.split("/") if p]
    return "/".join(parts[-2:])


def _match_endpoint(r1: Request, r2: Request) -> None:
    if _endpoint(r1.path) != _endpoint(r2.path):
        raise AssertionError(f"{r1.path} != {r2.path}")


def _json_or_raw(body: Any) -> Any:
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _match_body(r1: Request, r2: Request) -> None:
    if _json_or_raw(r1.body) != _json_or_raw(r2.body):
        raise AssertionError("request bodies differ")


ALIAS_REFUSAL = "YAML anchors and aliases are not allowed in a cassette (refused unexpanded)"


class AliasRefused(yaml.YAMLError):  # type: ignore[misc]  # PyYAML ships no type stubs
    """A cassette uses a YAML anchor or alias; the message is one line."""


class _NoAliasLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that refuses anchors and aliases as it composes, before any node is expanded."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise AliasRefused(f"{ALIAS_REFUSAL}: line {event.start_mark.line + 1}")
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """Parse cassette YAML, refusing anchors and aliases (``AliasRefused``)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: no arbitrary objects


class Malformed(ValueError):
    """A cassette whose interactions do not have the shape a recording has; the message is one line."""


def _check_headers(value: Any, where: str) -> None:
    ok = isinstance(value, dict) and all(
        isinstance(k, str) and (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))) for k, v in value.items()
    )
    if not ok:
        raise Malformed(f"{where} must map header names to lists of strings")


def check_interactions(interactions: list[Any]) -> None:
    """Refuse, in one line naming the interaction, what a recording never holds, before vcrpy reads it."""
    for n, item in enumerate(interactions, 1):
        where = f"interaction {n}"
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict) or not isinstance(item.get("response"), dict):
            raise Malformed(f"{where} needs a request and a response, each a mapping")
        req, resp = item["request"], item["response"]
        if not isinstance(req.get("method"), str) or not isinstance(req.get("uri"), str):
            raise Malformed(f"{where}: the request needs a method and a uri, as text")
        _check_headers(req.get("headers", {}), f"{where}: the request's headers")
        status = resp.get("status")
        code = status.get("code") if isinstance(status, dict) else None
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise Malformed(f"{where}: the response needs a status with an HTTP code (100-599)")
        if not isinstance(status.get("message", ""), str):
            raise Malformed(f"{where}: the response's status message must be text")
        _check_headers(resp.get("headers", {}), f"{where}: the response's headers")
        if "body" in resp and not isinstance(resp["body"], (str, type(None))) and "json" not in resp:
            raise Malformed(f"{where}: the response body must be text (or JSON data under json:)")


class _Serializer:
    """YAML with JSON bodies stored as data (``json:``) rather than as escaped strings."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        out = []
        for interaction in cassette_dict["interactions"]:
            req = dict(interaction["request"])
            resp = dict(interaction["response"])
            req_body = _json_or_raw(req.pop("body", None))
            req["json" if not isinstance(req_body, str) else "body"] = req_body
            body = resp.pop("body", {}) or {}
            resp_body = _json_or_raw(body.get("string"))
            resp["json" if not isinstance(resp_body, str) else "body"] = resp_body
            out.append({"request": req, "response": resp})
        return str(yaml.safe_dump({"version": cassette_dict.get("version", 1), "interactions": out}, sort_keys=False, allow_unicode=True, width=100))

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        data = load_yaml(text) or {}
        if not isinstance(data, dict) or not isinstance(data.get("interactions", []), list):
            raise Malformed("expected a mapping with a list of interactions")
        check_interactions(data.get("interactions", []))
        interactions = []
        for item in data.get("interactions", []):
            req = dict(item["request"])
            resp = dict(item["response"])
            req_body = req.pop("json") if "json" in req else req.pop("body", None)
            req["body"] = json.dumps(req_body) if not isinstance(req_body, (str, type(None))) else req_body
            resp_body = resp.pop("json") if "json" in resp else resp.pop("body", "")
            resp["body"] = {"string": json.dumps(resp_body) if not isinstance(resp_body, str) else resp_body}
            interactions.append({"request": req, "response": resp})
        return {"version": data.get("version", 1), "interactions": interactions}


def _scrub_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _recorder(secrets: list[str]) -> vcr.VCR:
    def scrub_request(request: Request) -> Request:
        parts = urlsplit(request.uri)
        if parts.username or parts.password:  # credentials written into --base-url stay out of the file
            request.uri = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
        for name in list(request.headers):
            if name.lower() not in KEEP_REQUEST_HEADERS:
                del request.headers[name]
        if request.body and secrets:
            raw = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
            request.body = _scrub_text(raw, secrets).encode("utf-8")
        return request

    def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {
            k: v for k, v in response.get("headers", {}).items() if k.lower() in KEEP_RESPONSE_HEADERS or k.lower().startswith(KEEP_RESPONSE_PREFIXES)
        }
        body = response.get("body", {}).get("string")
        if body and secrets:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            response["body"]["string"] = _scrub_text(text, secrets).encode("utf-8")
        return response

    import vcr

    recorder = vcr.VCR(
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
        match_on=["method", "endpoint", "json_body"],
        serializer="summarize",
    )
    recorder.register_serializer("summarize", _Serializer)
    recorder.register_matcher("endpoint", _match_endpoint)
    recorder.register_matcher("json_body", _match_body)
    return recorder


@contextmanager
def cassette(*, record: Path | None = None, replay: Path | None = None, secrets: list[str] | None = None) -> Iterator[Cassette | None]:
    """Record to, or replay from, a cassette file; a no-op when neither is given."""
    if record is None and replay is None:
        yield None
        return
    if replay is not None and not replay.is_file():
        raise CassetteError(f"cassette not found: {replay}")
    recorder = _recorder([s for s in (secrets or []) if s and len(s) >= 8])
    path = record or replay
    assert path is not None
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        if record.exists():
            record.unlink()
    manager = recorder.use_cassette(str(path), record_mode="all" if record else "none", allow_playback_repeats=False)
    try:  # loading is where a malformed file fails; errors inside the block are the block's own
        cas = manager.__enter__()
    except AliasRefused as exc:
        raise CassetteError(f"{path}: {exc}") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:  # Malformed and UnicodeDecodeError are ValueErrors
        raise CassetteError(f"{path}: not a readable cassette ({_one_line(exc)})") from None
    try:
        yield cas
    except BaseException:
        if not manager.__exit__(*sys.exc_info()):
            raise
    else:
        manager.__exit__(None, None, None)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def recorded_call_settings(path: Path) -> dict[str, object]:
    """Model, mode and strictness of the first recorded chat request, so a replay sends the same
    request bodies without the user having to repeat the recording's flags."""
    if not path.is_file():
        raise CassetteError(f"cassette not found: {path}")
    try:
        data = _Serializer.deserialize(path.read_text(encoding="utf-8"))
    except AliasRefused as exc:
        raise CassetteError(f"{path}: {exc}") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:  # Malformed and UnicodeDecodeError are ValueErrors
        raise CassetteError(f"{path}: not a readable cassette ({_one_line(exc)})") from None
    for interaction in data["interactions"]:
        body = _json_or_raw(interaction["request"].get("body"))
        if not isinstance(body, dict) or "messages" not in body:
            continue
        found: dict[str, object] = {"model": body.get("model"), "temperature": body.get("temperature"), "max_tokens": body.get("max_tokens")}
        fmt = body.get("response_format") or {}
        if body.get("tools"):
            found["mode"] = "tools"
            found["strict"] = bool(body["tools"][0].get("function", {}).get("strict"))
        elif fmt.get("type") == "json_schema":
            found["mode"] = "json_schema"
            found["strict"] = bool(fmt.get("json_schema", {}).get("strict"))
        elif fmt.get("type") == "json_object":
            found["mode"] = "json"
            found["strict"] = False
        return found
    return {}


def unplayed(cas: Cassette | None) -> int:
    """How many recorded model calls a replay did not use (token counts a llama.cpp recording holds are not calls:
    a replay estimates them instead)."""
    if cas is None or cas.write_protected is False:
        return 0
    return sum(1 for n, (request, _) in enumerate(cas.data) if cas.play_counts[n] == 0 and "/tokenize" not in request.uri)
