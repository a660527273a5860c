"""How many tokens a text is for the model behind an endpoint: its own tokenizer where the server has one, else an estimate.

llama-cpp-python's server counts at ``POST /extras/tokenize/count`` and llama.cpp's ``llama-server``
at ``POST /tokenize``; both are exact for the loaded model. Everywhere else (OpenAI, replays, unknown
servers) the count is an estimate: one token per 3 bytes of UTF-8, which over-counts English
(about 4 characters a token for OpenAI's and Qwen's tokenizers) and so errs towards smaller chunks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from summarize.config import Settings

log = logging.getLogger(__name__)
BYTES_PER_TOKEN = 3.0

Counter = Callable[[str], int]


def estimate(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def _root(base_url: str) -> str:
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path.removesuffix("/v1"), "", ""))


def counter(settings: Settings) -> tuple[Counter, bool]:
    """A token counter for the settings' endpoint, and whether it is exact (the server's tokenizer) or an estimate."""
    if settings.replay or not settings.base_url or settings.profile not in ("llamacpp-python", "llamacpp"):
        return estimate, False
    root = _root(settings.base_url)
    python_server = settings.profile == "llamacpp-python"
    url = f"{root}/extras/tokenize/count" if python_server else f"{root}/tokenize"

    def count(text: str) -> int:
        try:
            response = httpx.post(url, json={"input": text} if python_server else {"content": text}, timeout=min(settings.timeout, 60.0))
            response.raise_for_status()
            data = response.json()
            return int(data["count"]) if python_server else len(data["tokens"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.debug("token count from %s failed (%s); estimating", url, exc)
            return estimate(text)

    return count, True
