"""A total deadline per HTTP request: connecting, sending and reading the whole answer, body included.

httpx's timeouts bound each phase and each socket read, so an endpoint that trickles one byte a
second never trips a 120 s read timeout and can hold a request for as long as it likes. Here
every socket operation of a request is given at most what is left of the request's deadline, and
none is started once it has passed: the request ends with ``httpcore.ReadTimeout`` (the SDK's
``APITimeoutError``) within the deadline however the bytes arrive, whether the status line, the
headers or the body trickle. The deadline is set with ``within(seconds)`` around the call, per
thread (a context variable), so the workers of a batch sharing one client each keep their own.
The connection a deadline cut off is closed, never reused.

Mechanism: the network backend of each httpcore connection pool the httpx client uses (its
default transport and its proxy mounts) is wrapped. That reaches two attributes httpx and
httpcore do not document (``HTTPTransport._pool``, ``ConnectionPool._network_backend``); if a
release renames them, ``enforce`` raises rather than silently letting requests run unbounded,
and ``tests/test_hardening_endpoint.py`` trickles bytes to check the deadline holds. SDK-free.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("summarize_request_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Every request made inside must finish within ``seconds`` from now (an enclosing deadline that ends sooner wins)."""
    ends = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """What a socket operation may take: its own timeout, capped by the time left; ``error`` once none is left."""
    ends = _DEADLINE.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise error("the request's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def enforce(client: httpx.Client) -> httpx.Client:
    """``client`` with the deadline applied to every connection pool it sends through; returns it."""
    transports = [client._transport, *client._mounts.values()]  # private: see the module docstring
    for transport in transports:
        if transport is None or not isinstance(transport, httpx.HTTPTransport):
            continue  # a mock or a test's own transport: nothing of ours to bound
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            raise RuntimeError("cannot apply the request deadline: this httpx/httpcore release keeps its connection pool elsewhere")
        if not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return client

