"""``summarize doctor``: the configuration in use and two live probes, on one screen.

The probes answer the two questions people ask when a run fails: does the endpoint answer at
all (``GET /models`` with the key), and does it honour a JSON schema (one tiny structured call
through the same client, mode and re-ask budget as a real run). Under ``--record`` and
``--replay`` both probes go through the cassette like any other request, so a doctor run can
be recorded on one machine and replayed on another.

The key is registered for redaction before the first probe (an endpoint refusing a key may echo
it in its first answer), and each probe must finish within its deadline, body included.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from summarize.config import PROFILES, Settings, detect_profile, settings_for
from summarize.errors import EXIT_ENDPOINT, EXIT_OK, ConfigError, EndpointError, PromptError, SummarizeError
from summarize.llm import deadline
from summarize.llm.cassette import cassette
from summarize.llm.client import LLM, from_cassette
from summarize.llm.prompts import bundled_prompts_dir, load_prompt
from summarize.llm.redact import redact, register_secrets

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PROBE_TIMEOUT = 10.0
PROMPT_NAMES = ("extract", "brief")

EPILOG = """examples:
  summarize doctor                                              # the endpoint from OPENAI_API_KEY / OPENAI_BASE_URL
  summarize doctor --base-url http://localhost:11434/v1 --model llama3.1
  summarize doctor --record doctor.yaml                         # keep the probes' exchanges, to replay elsewhere

exit codes:
  0  the endpoint answers and honours the JSON schema
  2  configuration error (no endpoint configured, unknown profile or mode, bad prompt directory)
  3  a probe failed (unreachable, key rejected, schema not honoured, cassette mismatch)
"""


class Probe(BaseModel):
    """Health check: reply with answer "ok" and number 7."""

    model_config = ConfigDict(extra="forbid")

    answer: Literal["ok"]
    number: int


PROBE_MESSAGES = [
    {"role": "system", "content": "You are a health check for a structured-output client. Answer in the required format only."},
    {"role": "user", "content": 'Reply with answer "ok" and number 7.'},
]


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``summarize doctor`` on the CLI's subparsers."""
    sub.add_parser(
        "doctor",
        parents=[common],
        help="show the configuration in use and check that the endpoint answers and honours the JSON schema",
        description="Print the endpoint configuration (profile, model, mode, budgets, prices, prompts; never the key), "
        "then probe the endpoint: GET /models, and one tiny structured call in the configured mode.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# --- what to show -----------------------------------------------------------------------------


def mask_key(key: str | None) -> str:
    """'set (sk-…abcd, 51 chars)': enough to tell two keys apart, never enough to use one."""
    if not key:
        return "not set"
    if len(key) < 16:
        # the last four characters of a short key are too large a share of it to show
        return f"set ({len(key)} chars)"
    prefix = m.group(0) if (m := re.match(r"[A-Za-z]{2,4}-", key)) else ""
    return f"set ({prefix}…{key[-4:]}, {len(key)} chars)"


def safe_url(url: str) -> str:
    """Scheme, host and path of a URL: no user info, no query string (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"


def _profile_reason(settings: Settings, given: str | None) -> str:
    if given:
        return "given with --profile"
    detected = detect_profile(settings.base_url)
    if settings.profile != detected:
        return "set by SUMMARIZE_PROFILE"
    if settings.base_url:
        return "detected from the base URL"
    return "default: no base URL set"


def _price(value: float | None) -> str:
    return "not set" if value is None else f"${value:g}"


def configuration_lines(settings: Settings, given_profile: str | None = None) -> list[str]:
    s = settings
    profile = PROFILES[s.profile]
    endpoint = f"none: replaying {s.replay}" if s.replay else safe_url(s.base_url or DEFAULT_BASE_URL) + ("" if s.base_url else " (default)")
    if s.price_input is None or s.price_output is None:
        prices = "not set: cost is reported as unknown (SUMMARIZE_PRICE_INPUT, SUMMARIZE_PRICE_OUTPUT)"
    else:
        prices = f"input {_price(s.price_input)}, output {_price(s.price_output)} per million tokens"
    lines = [
        f"  profile     {s.profile} ({_profile_reason(s, given_profile)})",
        f"  quirks      {profile.notes}",
        f"  endpoint    {endpoint}",
        f"  key         {mask_key(s.api_key)}" + ("" if s.api_key or not profile.needs_key else f"; the {s.profile} profile needs one"),
        f"  model       {s.model}",
        f"  mode        {s.mode}" + (" strict" if s.strict else "") + ("" if s.mode == profile.mode else f" (the profile's default is {profile.mode})"),
        f"  timeout     {s.timeout:g}s per request, the whole answer included",
        f"  retries     {s.transport_retries} transport retries (waits capped at {s.max_retry_wait:g}s), {s.max_reasks} validation re-asks",
        f"  prices      {prices}",
        *_prompt_lines(s),
        f"  record      {s.record or 'off'}",
        f"  replay      {s.replay or 'off'}",
    ]
    return lines


def _prompt_lines(settings: Settings) -> list[str]:
    try:
        bundled = str(bundled_prompts_dir())
    except PromptError as exc:
        bundled = f"missing ({exc})"
    where = f"{settings.prompts_dir} first, then bundled {bundled}" if settings.prompts_dir else f"bundled {bundled}"
    lines = [f"  prompts     {where}"]
    for name in PROMPT_NAMES:
        try:
            p = load_prompt(name, settings.prompts_dir)
        except PromptError as exc:
            lines.append(f"              ✗ {name}: {exc}")
            continue
        origin = "" if settings.prompts_dir is None or p.path.parent != settings.prompts_dir else f" from {p.path}"
        lines.append(f"              {p.name} v{p.version} sha256:{p.sha256[:12]}{origin}")
    return lines


# --- probes -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.detail}"


def _one_line(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def probe_models(settings: Settings) -> ProbeResult:
    """GET {base}/models with the key: does anything answer, does it accept the key, does it list the model."""
    name = "endpoint answers"
    url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/models"
    headers = {"accept": "application/json"}
    if settings.api_key:
        headers["authorization"] = f"Bearer {settings.api_key}"
        if settings.profile == "azure":
            headers["api-key"] = settings.api_key  # Azure's own header; the v1 API also takes the bearer token
    register_secrets(settings.secrets)  # before the request: a server refusing the key may echo it
    try:
        with deadline.enforce(httpx.Client(timeout=PROBE_TIMEOUT)) as client, deadline.within(PROBE_TIMEOUT):
            response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        return ProbeResult(name, False, f"no answer from {safe_url(url)}: {type(exc).__name__}: {_one_line(str(exc)) or 'no detail'}")
    except Exception as exc:
        if from_cassette(exc):
            return ProbeResult(name, False, f"the cassette {settings.replay} has no recorded GET /models (record one with `summarize doctor --record FILE`)")
        raise
    status = response.status_code
    if status in (401, 403):
        return ProbeResult(name, False, f"{status}: the endpoint rejected the key ({redact(_error_message(response))})")
    if status in (404, 405):
        # the server is up but does not list models; the structured probe still tells whether it works
        return ProbeResult(name, True, f"{status} on /models: this server does not list its models")
    if status >= 400:
        return ProbeResult(name, False, f"HTTP {status} from {safe_url(url)} ({redact(_error_message(response))})")
    ids = _model_ids(response)
    if ids is None:
        return ProbeResult(name, True, f"{status}, but the model list is not the usual JSON")
    if settings.profile != "llamacpp-python" and _is_llama_cpp_python(response):
        # its default port (8000) is vLLM's, so only the answer tells them apart
        hint = "this is llama-cpp-python's server (models listed as owned by 'me', GGUF paths as ids): use --profile llamacpp-python"
        return ProbeResult(name, True, f"{status}, but {hint}")
    if settings.model in ids:
        return ProbeResult(name, True, f"{status}, model {settings.model} listed")
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    # Azure lists base models, not deployment names; gateways list only some; so not a failure
    return ProbeResult(name, True, f"{status}, model {settings.model} not among the {len(ids)} listed ({shown or 'none'})")


def _is_llama_cpp_python(response: httpx.Response) -> bool:
    try:
        data = response.json().get("data") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(m, dict) and m.get("owned_by") == "me" and str(m.get("id", "")).endswith(".gguf") for m in data)


def _model_ids(response: httpx.Response) -> list[str] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    return [str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")]


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return _one_line(response.text, 120) or "empty body"
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict) and "message" in err:
        return _one_line(str(err["message"]), 160)
    return _one_line(str(err), 160)


_FAILURE = {
    "refusal": "the model refused",
    "invalid_output": "schema not honoured",
    "truncated": "answer cut off",
    "transport": "transport error",
    "cassette": "cassette mismatch",
}


_PYDANTIC_LINK = re.compile(r"\s*For further information visit \S+")


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's error log for a call whose failure the doctor reports itself, once, in its own line."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def probe_structured(settings: Settings) -> ProbeResult:
    """One small structured call in the configured mode, with the configured re-ask budget."""
    name = "structured output"
    how = settings.mode + (" strict" if settings.strict else "")
    # One attempt per request: a diagnosis should report a 429 or a dead server, not wait it out.
    llm = LLM(dataclasses.replace(settings, transport_retries=0))
    try:
        with _quiet("instructor"):
            result = llm.structured(Probe, PROBE_MESSAGES)
    except EndpointError as exc:
        return ProbeResult(name, False, f"{_FAILURE.get(exc.kind, exc.kind)} ({how}): {_one_line(_PYDANTIC_LINK.sub('', exc.message))}")
    finally:
        llm.close()
    value = result.value
    after = "on the first answer" if result.reasks == 0 else f"after {result.reasks} re-ask(s)"
    detail = f"{how} honoured {after} ({result.usage.total_tokens} tokens)"
    if value.number != 7:
        detail += f"; asked for number 7, got {value.number}: the schema holds but the model follows instructions poorly"
    return ProbeResult(name, True, detail)


# --- the command ------------------------------------------------------------------------------


def diagnose(settings: Settings) -> list[ProbeResult]:
    """Both probes, inside the cassette when recording or replaying."""
    register_secrets(settings.secrets)
    with cassette(record=settings.record, replay=settings.replay, secrets=[settings.api_key or ""]):
        return [probe_models(settings), probe_structured(settings)]


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``summarize doctor``: exit 0 when both probes pass, 2 on a configuration error, 3 otherwise."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        settings = settings_for(vars(args))  # refuses a base URL carrying credentials, without printing them
    except SummarizeError as exc:
        err.write(f"summarize: {exc}\n")
        return exc.exit_code
    register_secrets(settings.secrets)
    out.write("summarize doctor\n\nconfiguration\n")
    out.write("".join(f"{line}\n" for line in configuration_lines(settings, getattr(args, "profile", None))))
    out.write("\n")
    try:
        settings.require_endpoint()
    except ConfigError as exc:
        err.write(f"summarize: {exc}\n")
        return exc.exit_code
    try:
        results = diagnose(settings)
    except SummarizeError as exc:  # a cassette that cannot be read, say
        out.write(f"✗ probes: {exc}\n")
        return exc.exit_code
    out.write("".join(f"{r.line()}\n" for r in results))
    out.flush()
    return EXIT_OK if all(r.passed for r in results) else EXIT_ENDPOINT


__all__ = ["Probe", "ProbeResult", "add_parser", "configuration_lines", "diagnose", "mask_key", "probe_models", "probe_structured", "run", "safe_url"]
