"""Secrets never leave the process: keys and account headers are scrubbed from every log record, error text, cassette and output."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "<redacted>"
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
# Header names whose values are credentials or identify the account, in the shapes libraries log
# them: "name: value", 'name': 'value' (dict reprs), (b'name', b'value') (httpcore), 'name': ['value'] (vcrpy).
_HEADER_NAME = r"""(?P<name>\b(?:proxy-authorization|authorization|x-api-key|api-key|set-cookie|cookie|openai-organization|openai-project)\b)"""
_ACCOUNT_HEADER_LIST = re.compile(_HEADER_NAME + r"""(?P<sep>['"]?\s*[:=]\s*)\[[^\]]*\]""", re.IGNORECASE)
_ACCOUNT_HEADER = re.compile(_HEADER_NAME + r"""(?P<sep>['"]?\s*[:=]\s*(?:b?['"])?|['"],\s*b?['"])(?P<value>[^'"\[\r\n]*)""", re.IGNORECASE)


def register_secret(secret: str | None) -> None:
    """Have ``redact`` and the log-record factory scrub ``secret`` (a key) from now on."""
    if secret and len(secret) >= 8:
        with _SECRETS_LOCK:
            _SECRETS.add(secret)
    install_log_redaction()


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Register every credential a command will send (``Settings.secrets``). Callers do this before their first request:
    an endpoint may echo the key in the body of its very first answer (a rejected key, say)."""
    for secret in secrets:
        register_secret(secret)
    install_log_redaction()


def redact(text: str) -> str:
    """``text`` without registered keys and without credential or account header values."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _ACCOUNT_HEADER_LIST.sub(lambda m: f"{m['name']}{m['sep']}['{REDACTED}']", text)
    return _ACCOUNT_HEADER.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}" if m["value"].strip() else m.group(), text)


_installed = False


def install_log_redaction() -> None:
    """Scrub every log record as it is made: a filter on our handlers would miss the handlers
    library users or pytest add, and a filter on a logger misses its children."""
    global _installed
    with _SECRETS_LOCK:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it when the record is formatted
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts carry response bodies ("Incorrect API key provided: sk-..."); the
            # redacted text stands in for the exception only when there was something to hide.
            shown = logging.Formatter().formatException(record.exc_info)
            if (hidden := redact(shown)) != shown:
                record.exc_text, record.exc_info = hidden, None
        return record

    logging.setLogRecordFactory(factory)


# At import, not with the first client: `summarize doctor` sends its first request with httpx
# before it builds one, and -vv logs that response's headers.
install_log_redaction()
