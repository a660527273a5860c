"""Configuration: read once from flags and environment into a frozen object.

Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from summarize.errors import ConfigError

DEFAULT_MODEL = "gpt-4o-mini"
MODES = ("tools", "json_schema", "json")


@dataclass(frozen=True)
class Profile:
    """What an endpoint family needs: its structured-output mode and quirks."""

    name: str
    mode: str
    strict: bool
    needs_key: bool
    notes: str


# Strict JSON schema where the server enforces it, tools where it is the better-supported path,
# plain JSON mode only as a last resort (it lets the model drift from the schema).
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("openai", "json_schema", True, True, "Structured outputs with strict: true; refusals arrive in message.refusal."),
        Profile("azure", "json_schema", True, True, "Use the v1 base URL https://RESOURCE.openai.azure.com/openai/v1/; the model is the deployment name."),
        Profile("ollama", "json_schema", False, False, "Ollama turns response_format json_schema into a grammar; strict is ignored, no key needed."),
        Profile("vllm", "json_schema", False, False, "Guided decoding enforces the schema; the strict flag is ignored."),
        Profile("llamacpp", "json_schema", False, False, "llama.cpp server converts the schema to a GBNF grammar."),
        Profile(
            "llamacpp-python",
            "tools",
            False,
            False,
            "llama-cpp-python's server (python -m llama_cpp.server, default port 8000) rejects response_format json_schema with HTTP 500; "
            "a forced tool call is grammar-constrained. Its finish_reason is always tool_calls, so a cut-off answer shows as invalid JSON.",
        ),
        Profile("lmstudio", "json_schema", False, False, "LM Studio enforces json_schema response formats."),
        Profile("openrouter", "tools", False, True, "Provider support for json_schema varies by model; forced tool calls are the safer default."),
        Profile("generic", "tools", False, False, "Unknown OpenAI-compatible server: forced tool calls, no strict flag."),
    )
}


def detect_profile(base_url: str | None) -> str:
    """Guess the endpoint family from its URL (override with --profile)."""
    if not base_url:
        return "openai"
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == "api.openai.com":
        return "openai"
    if host.endswith(".openai.azure.com") or host.endswith(".services.ai.azure.com"):
        return "azure"
    if host.endswith("openrouter.ai"):
        return "openrouter"
    by_port = {11434: "ollama", 8000: "vllm", 8080: "llamacpp", 1234: "lmstudio"}
    return by_port.get(parts.port or 0, "generic")


# Query parameters that carry a credential: a base URL holding one is refused like one with user info.
_CREDENTIAL_PARAMS = frozenset(
    {"key", "api-key", "api_key", "apikey", "x-api-key", "access_token", "token", "auth", "authorization", "secret", "client_secret", "password", "sig"}
    | {"signature"}
)


def _url_credentials(base_url: str) -> str | None:
    """What kind of credential ``base_url`` carries ('user info', 'a key in the query'), if any; never the credential."""
    parts = urlsplit(base_url)
    if "@" in parts.netloc:
        return "user info (user:password@)"
    names = {pair.split("=", 1)[0].strip().lower() for pair in parts.query.replace(";", "&").split("&") if pair}
    if names & _CREDENTIAL_PARAMS:
        return "a credential in the query string"
    return None


def refuse_url_credentials(base_url: str | None, origin: str = "the base URL") -> None:
    """A ConfigError when ``base_url`` carries credentials. Refused, not stripped: httpx would send user info as Basic
    auth in place of the Bearer key, and a URL is written into verbose logs, errors and cassettes. The message shows
    the URL's scheme, host and path only, so the credential is never printed."""
    if not base_url or (kind := _url_credentials(base_url)) is None:
        return
    parts = urlsplit(base_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    shown = f"{parts.scheme}://{'***@' if '@' in parts.netloc else ''}{host}{parts.path}{'?***' if parts.query else ''}"
    raise ConfigError(
        f"{origin} carries {kind}: {shown}; credentials in the URL are refused, because they would replace the API key "
        "and end up in logs and recordings. Remove them from the URL and put the key in OPENAI_API_KEY (sent as a Bearer token)"
    )


# Tokens kept free for the answer when the context window is known (the bundled authored answers run 1,000-2,600).
ANSWER_TOKENS = 3000


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    profile: str = "openai"
    mode: str = "json_schema"
    strict: bool = True
    timeout: float = 120.0
    transport_retries: int = 4
    max_retry_wait: float = 60.0
    backoff_base: float = 0.5  # seconds before the first transport retry when the server gives no Retry-After
    max_reasks: int = 2
    chunk_chars: int = 12_000
    context_tokens: int | None = None  # the model's context window, when known: chunks are sized to fit it
    temperature: float | None = None  # sent when set; local servers get 0 (llm.wire.apply_sampling)
    max_tokens: int | None = None  # sent when set; with a known context, ANSWER_TOKENS
    chunk_overlap: int = 1_000
    max_bytes: int = 5_000_000
    price_input: float | None = None
    price_output: float | None = None
    prompts_dir: Path | None = None
    record: Path | None = None
    replay: Path | None = None

    def __post_init__(self) -> None:
        refuse_url_credentials(self.base_url)  # Settings built directly by library users too

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential these settings send, for redaction: registered before the first request."""
        return tuple(s for s in (self.api_key,) if s)

    @property
    def endpoint_host(self) -> str:
        """The endpoint's host for provenance: never the key, never a path or query."""
        if self.replay:
            return f"replay:{self.replay.name}"
        return urlsplit(self.base_url or "https://api.openai.com/v1").netloc.rsplit("@", 1)[-1]

    def require_endpoint(self) -> None:
        """Fail early, in one line, when there is nothing to talk to."""
        if self.replay is not None:
            return
        if self.api_key or (self.base_url and not PROFILES[self.profile].needs_key):
            return
        raise ConfigError(
            "no model endpoint configured: set OPENAI_API_KEY (plus OPENAI_BASE_URL for Azure, Ollama, vLLM, "
            "llama.cpp or LM Studio), or pass --replay CASSETTE to run offline from a recording"
        )


# The options a command may give; None (or absent) means "not given", so the environment decides.
OPTION_KEYS = (
    "model", "base_url", "profile", "mode", "record", "replay", "prompts_dir", "timeout", "max_reasks", "chunk_chars", "max_bytes", "context_tokens",
    "temperature", "max_tokens",
)


def settings_for(options: Mapping[str, object], env: Mapping[str, str] | None = None) -> Settings:
    """Settings for one command: its options over the environment. A replay sends what its recording
    sent, so the model, mode and strict flag come from the cassette unless the options override them."""
    given: dict[str, object] = {k: options.get(k) for k in OPTION_KEYS}
    if given["replay"]:
        from summarize.llm.cassette import recorded_call_settings  # reads YAML only when replaying

        recorded = recorded_call_settings(Path(str(given["replay"])))
        for key in ("model", "mode"):
            given[key] = given[key] or recorded.get(key)
        for key in ("temperature", "max_tokens"):  # the sampling the recording sent, so its bodies match
            given[key] = given[key] if given[key] is not None else recorded.get(key)
        if "strict" in recorded and (not options.get("mode") or options.get("mode") == recorded.get("mode")):
            given["strict"] = recorded["strict"]
    return load_settings(given, env)


def _float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def load_settings(overrides: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge flags (``overrides``, None meaning 'not given') over the environment."""
    env = os.environ if env is None else env
    given = {k: v for k, v in (overrides or {}).items() if v is not None}

    base_url = given.get("base_url") or env.get("OPENAI_BASE_URL") or None
    refuse_url_credentials(str(base_url) if base_url else None, "--base-url" if given.get("base_url") else "OPENAI_BASE_URL")
    profile = str(given.get("profile") or env.get("SUMMARIZE_PROFILE") or detect_profile(str(base_url) if base_url else None))
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    mode = str(given.get("mode") or env.get("SUMMARIZE_MODE") or prof.mode)
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")

    values: dict[str, object] = {
        "model": given.get("model") or env.get("SUMMARIZE_MODEL") or env.get("OPENAI_MODEL") or DEFAULT_MODEL,
        "api_key": env.get("OPENAI_API_KEY") or env.get("AZURE_OPENAI_API_KEY") or None,
        "base_url": base_url,
        "profile": profile,
        "mode": mode,
        "strict": bool(given.get("strict", prof.strict)),
        "price_input": _float(env, "SUMMARIZE_PRICE_INPUT"),
        "price_output": _float(env, "SUMMARIZE_PRICE_OUTPUT"),
    }
    timeout = _float(env, "SUMMARIZE_TIMEOUT")
    if timeout is not None:
        values["timeout"] = timeout
    context = given.get("context_tokens") or _float(env, "SUMMARIZE_CONTEXT_TOKENS")
    if context is not None:
        values["context_tokens"] = int(str(context).split(".")[0])
    for key in ("temperature", "max_tokens"):
        if key in given:
            values[key] = float(str(given[key])) if key == "temperature" else int(str(given[key]))
    for key in ("timeout", "max_reasks", "transport_retries", "chunk_chars", "max_bytes", "backoff_base", "max_retry_wait"):
        if key in given:
            values[key] = given[key]
    for key in ("prompts_dir", "record", "replay"):
        if key in given:
            values[key] = Path(str(given[key]))
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.record and settings.replay:
        raise ConfigError("--record and --replay cannot be used together")
    if settings.max_reasks < 0 or settings.transport_retries < 0:
        raise ConfigError("retry budgets cannot be negative")
    if settings.chunk_chars < 1000:
        raise ConfigError(f"--chunk-chars must be at least 1000 (got {settings.chunk_chars}): smaller chunks cut sentences apart")
    if settings.max_bytes < 1 or settings.timeout <= 0:
        raise ConfigError("--max-bytes and --timeout must be positive")
    return settings


@dataclass(frozen=True)
class TLSEnvironment:
    """Where the verifying TLS context finds its roots and key log, as httpx reads them: SSL_CERT_FILE, else
    SSL_CERT_DIR (None for both means certifi's bundle); SSLKEYLOGFILE unless Python ignores the environment."""

    cafile: str | None
    capath: str | None
    keylog: str | None


def tls_environment(env: Mapping[str, str] | None = None, ignore_environment: bool = False) -> TLSEnvironment:
    env = os.environ if env is None else env
    cafile = env.get("SSL_CERT_FILE") or None
    capath = None if cafile else (env.get("SSL_CERT_DIR") or None)
    keylog = None if ignore_environment else (env.get("SSLKEYLOGFILE") or None)
    return TLSEnvironment(cafile, capath, keylog)
