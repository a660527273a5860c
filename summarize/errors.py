"""One error tree for the whole package.

    SummarizeError                 base; ``exit_code`` says how the CLI ends
    ├── UsageError                 bad flags or configuration (exit 2)
    │   └── ConfigError            no endpoint configured, bad prompt dir, ...
    ├── InputError                 a file we refuse to read (exit 2); names the file
    ├── PromptError                a template is missing, malformed or lacks a variable (exit 2)
    ├── OutputError                the outputs or the store cannot be written: disk full, read-only (exit 4)
    │   └── StoreCorruptError      the batch store is damaged (SQLite: "database disk image is malformed")
    ├── BusyError                  another run holds the output directory's lock (exit 5)
    ├── InternalError              a bug: an exception nothing expected (exit 6); the traceback is logged
    ├── StoppedError               SIGINT/SIGTERM ended a wait before work started (exit 130/143)
    └── EndpointError              the model endpoint failed us (exit 3)
        ├── CassetteError          --replay file missing or malformed, or a request it has no answer for
        ├── TransportError         connection, timeout, HTTP status after the retry budget
        ├── TruncatedError         finish_reason=length: never re-asked with the truncated text
        ├── RefusalError           the model refused
        └── ModelOutputError       the answer never validated within the re-ask budget

Exit code 1 is not an error: output was produced but some verification failed (see cli.py).
A batch stopped by a signal exits 128 + the signal number: 130 for SIGINT (Ctrl-C), 143 for SIGTERM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarize.models.report import Usage


class SummarizeError(Exception):
    exit_code = 2
    kind = "error"

    def __init__(self, message: str, *, item: str | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.item = item
        self.attempts = attempts
        self.usage: Usage | None = None  # tokens spent before the failure, when a model was called

    def __str__(self) -> str:
        return f"{self.item}: {self.message}" if self.item else self.message


class UsageError(SummarizeError):
    exit_code = 2
    kind = "usage"


class ConfigError(UsageError):
    kind = "config"


class InputError(SummarizeError):
    exit_code = 2
    kind = "input"


class PromptError(SummarizeError):
    exit_code = 2
    kind = "prompt"


class OutputError(SummarizeError):
    """Writing failed for a reason outside the tool: disk full, read-only directory, name too long."""

    exit_code = 4
    kind = "output"


class StoreCorruptError(OutputError):
    kind = "store_corrupt"


class BusyError(SummarizeError):
    exit_code = 5
    kind = "busy"


class InternalError(SummarizeError):
    """An exception no code expected: a bug to report, never an endpoint's or an input's fault."""

    exit_code = 6
    kind = "internal"


class StoppedError(SummarizeError):
    """A signal ended a wait before any work started (``batch collect --wait``); exits 128 + the signal number."""

    kind = "stopped"

    def __init__(self, message: str, *, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class EndpointError(SummarizeError):
    exit_code = 3
    kind = "endpoint"


class CassetteError(EndpointError):
    kind = "cassette"


class TransportError(EndpointError):
    kind = "transport"


class ContextLengthError(EndpointError):
    """The request does not fit the model's context window: sending it again cannot succeed."""

    kind = "context_length"


class TruncatedError(EndpointError):
    kind = "truncated"


class RefusalError(EndpointError):
    kind = "refusal"


class ModelOutputError(EndpointError):
    kind = "invalid_output"


EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_INPUT = 2
EXIT_ENDPOINT = 3
EXIT_OUTPUT = 4
EXIT_BUSY = 5
EXIT_INTERNAL = 6
EXIT_SIGINT = 130  # 128 + SIGINT
EXIT_SIGTERM = 143  # 128 + SIGTERM
