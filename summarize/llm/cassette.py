"""Record and replay HTTP exchanges with vcrpy (``--record FILE`` / ``--replay FILE``).

Cassette rules:

* requests match on method, the endpoint path (``.../chat/completions``) and the JSON body
  compared as data, so a changed prompt, schema, model or input fails loudly instead of
  replaying an old answer;
* headers are kept by allow-list in both directions: credentials, cookies, organisation and
  project headers never reach the file; the configured key is also scrubbed from bodies;
* JSON bodies are stored parsed and indented, so a cassette reads like the exchange it holds;
* an interaction is played at most once, and replay reports recorded calls left unplayed when the
  run really differs from the recording, naming them (``unplayed``): articles recorded but not read,
  or asked for with another request; calls of a stage the command does not run (the extraction
  calls of a brief cassette replayed by ``brief --reports``, its briefing call by ``extract``) and
  re-asks the answers no longer need are not differences;
* a cassette with YAML anchors or aliases is refused unread: a few hundred bytes of nested aliases
  (a "billion laughs" document) would otherwise expand into gigabytes of request bodies.
"""

from __future__ import annotations

import json
import logging
import re
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

logger = logging.getLogger(__name__)

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
    if replay is not None and cas is not None:
        _watch_requests(cas)
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


_SOURCE = re.compile(r"----- BEGIN SOURCE (\S+) \S+ -----")
_ASKED = "summarize_asked"  # the attribute of a replayed Cassette that lists the labels of what the run asked for


def _label(body: Any) -> tuple[str, str] | None:
    """(stage, what) of a recorded or sent model call: ("extraction", source id), ("briefing", ""); None for a token count."""
    data = _json_or_raw(body)
    if not isinstance(data, dict) or "messages" not in data:
        return None
    named = [str(t.get("function", {}).get("name")) for t in data.get("tools") or [] if isinstance(t, dict)]
    fmt = data.get("response_format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        named.append(str(fmt.get("json_schema", {}).get("name")))
    if "BriefDraft" in named:
        return ("briefing", "")
    found = _SOURCE.search(json.dumps(data.get("messages"), ensure_ascii=False))
    return ("extraction", found[1]) if found else ("call", "")


def _watch_requests(cas: Cassette) -> None:
    """Note every model call the run sends, matched or not, so ``unplayed`` can tell what differs."""
    asked: list[tuple[tuple[str, str], bool]] = []
    can_play = cas.can_play_response_for

    def noting(request: Request) -> bool:
        playable = bool(can_play(request))
        if (label := _label(request.body)) is not None:
            asked.append((label, playable))
        return playable

    cas.can_play_response_for = noting
    setattr(cas, _ASKED, asked)


def _names(labels: list[tuple[str, str]]) -> str:
    ids = sorted({what for _, what in labels if what})
    stages = sorted({stage for stage, what in labels if not what})
    return ", ".join([*ids, *(f"the {stage}" for stage in stages)])


def unplayed_differences(cas: Cassette | None) -> tuple[int, list[str]]:
    """Recorded model calls a replay did not use because the run differs from the recording, and what differs, plainly.

    Not differences: token counts (a replay estimates them), calls of a stage the run never made, and re-asks or
    repeats of a call the run did make and was answered (the answers now pass the checks that asked again)."""
    if cas is None or cas.write_protected is False:
        return 0, []
    asked: list[tuple[tuple[str, str], bool]] = getattr(cas, _ASKED, [])
    stages = {label[0] for label, _ in asked}
    answered = {label for label, ok in asked if ok}
    refused = {label for label, ok in asked if not ok}
    not_read: list[tuple[str, str]] = []
    changed: list[tuple[str, str]] = []
    unneeded: list[tuple[str, str]] = []
    for n, (request, _) in enumerate(cas.data):
        label = _label(request.body)
        if cas.play_counts[n] or label is None or "/tokenize" in request.uri:
            continue
        if label[0] not in stages:
            continue  # a stage this command does not run
        if label in refused:
            changed.append(label)
        elif label in answered:
            unneeded.append(label)
        else:
            not_read.append(label)
    said = []
    if not_read:
        said.append(f"recorded but not asked for in this run: {_names(not_read)} (an input is missing or was renamed)")
    if changed:
        said.append(f"asked for differently than recorded: {_names(changed)} (its text, the prompt or a setting changed)")
    if unneeded:
        logger.info("%d recorded re-ask(s) for %s not needed: the answers now pass", len(unneeded), _names(unneeded))
    return len(not_read) + len(changed), said


def unplayed(cas: Cassette | None) -> int:
    """How many recorded model calls a replay did not use because the run differs from the recording
    (``unplayed_differences``); what differs is logged, one line."""
    left, said = unplayed_differences(cas)
    if left:
        logger.warning("%s: %s", getattr(cas, "_path", "the cassette"), "; ".join(said))
    return left


def unplayed_notice(cas: Cassette | None, path: Path | str | None) -> str | None:
    """The one line to warn with when a replay left recorded calls unused because the run differs; None when it does not."""
    left, said = unplayed_differences(cas)
    return f"{left} recorded interaction(s) in {path} were not used: {'; '.join(said)}" if left else None
