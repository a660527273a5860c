"""Client-side rate limiting shared by every worker of a run.

Requests and tokens per minute are paced with GCRA (a leaky bucket that allows a short burst):
each request reserves its slot under a lock, then sleeps outside it, so workers queue fairly.
Limits come from ``--rpm``/``--tpm`` or are learned from the server's ``x-ratelimit-limit-*``
headers. A 429 pauses *every* worker until ``Retry-After`` (or a short backoff) has passed and
trims the pace a little; this is what keeps sixteen workers from turning one 429 into a storm.

``CpuLane``: with hundreds of requests in flight, the answers of a wave arrive together and every
thread that got one wants the GIL to ground it, while the threads waiting to send the next
requests want it too; served in turn, the next wave goes out only when the last one is grounded.
The lane lets one thread at a time do the CPU work between HTTP exchanges, so sending and
receiving (short, and what keeps the slots busy) wait for one grounding thread, not for all.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

# Fraction of a learned server limit we aim for: close enough to use it, far enough to absorb
# the requests already in flight when the server's window turns.
LEARNED_SHARE = 0.95
BURST_SECONDS = 1.0
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$")


def parse_duration(text: str) -> float | None:
    """OpenAI's reset headers: '1s', '6m0s', '20ms', '1h2m3.5s'; plain numbers are seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


@dataclass
class LimiterStats:
    requests: int = 0
    tokens: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0


class _Pace:
    """GCRA for one quantity (requests or tokens) per second."""

    def __init__(self, per_minute: float | None) -> None:
        self.per_second = per_minute / 60 if per_minute else None
        self.tat = 0.0  # theoretical arrival time of the next unit
        self.learned_at = float("-inf")  # when a limit was first learned from the server's headers

    def reserve(self, now: float, amount: float) -> float:
        """Reserve ``amount`` units; returns when they may be used."""
        if not self.per_second:
            return now
        tolerance = BURST_SECONDS  # a second's worth may go at once
        tat = max(self.tat, now)
        allowed = tat - tolerance
        self.tat = tat + amount / self.per_second
        return max(now, allowed)


class CpuLane:
    """One thread at a time runs the work between a request's answer and the next wait (see the module docstring).

    Only a thread inside ``item()`` takes part; any other passes through untouched. The lane is
    taken when an exchange ends (``Limiter.slot``) and given up before every wait: the next
    slot, a pacing or retry sleep (``waiting``), and the end of the item."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextmanager
    def item(self) -> Iterator[None]:
        self._local.active, self._local.held, self._local.waits = True, False, 0
        try:
            yield
        finally:
            self._give_up()
            self._local.active = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a wait: the lane is free for others during it, and taken back when the outermost wait ends."""
        if not getattr(self._local, "active", False):
            yield
            return
        self._give_up()
        self._local.waits += 1
        try:
            yield
        finally:
            self._local.waits -= 1
            if self._local.waits == 0:
                self._lock.acquire()
                self._local.held = True

    @property
    def held(self) -> bool:
        return bool(getattr(self._local, "held", False))

    def _give_up(self) -> None:
        if getattr(self._local, "held", False):
            self._local.held = False
            self._lock.release()


class Limiter:
    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_pause: float = 60.0,
        concurrency: int | None = None,
        learned_share: float = 1.0,
        lane: CpuLane | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.lane = lane
        self._learned_share = learned_share  # of a limit learned from headers: one worker process's part of the key's limit
        self._max_pause = max_pause
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._clock = clock
        self._sleep = sleep
        self._given = (rpm, tpm)
        self._requests = _Pace(rpm)
        self._tokens = _Pace(tpm)
        self._paused_until = 0.0
        self._consecutive_429 = 0
        self.stats = LimiterStats()

    @property
    def rpm(self) -> float | None:
        return self._requests.per_second * 60 if self._requests.per_second else None

    @property
    def tpm(self) -> float | None:
        return self._tokens.per_second * 60 if self._tokens.per_second else None

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One of ``concurrency`` places for a request in flight (unbounded when not set)."""
        with self.lane.waiting() if self.lane is not None else nullcontext():
            if self._slots is None:
                yield
                return
            with self._slots:
                yield

    def idle(self, sleep: Callable[[float], None], seconds: float) -> None:
        """``sleep(seconds)`` outside the CPU lane: a retry's backoff must not hold up every other thread's grounding."""
        with self.lane.waiting() if self.lane is not None else nullcontext():
            sleep(seconds)

    def acquire(self, tokens: int) -> None:
        """Block until a request of about ``tokens`` tokens may be sent."""
        with self._lock:
            now = self._clock()
            start = max(self._requests.reserve(now, 1), self._tokens.reserve(now, tokens), self._paused_until)
            self.stats.requests += 1
            self.stats.tokens += tokens
            wait = start - now
            self.stats.waited_seconds += max(wait, 0.0)
        if wait > 0:
            self.idle(self._sleep, wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn limits and remaining budget from a response's ``x-ratelimit-*`` headers."""
        with self._lock:
            self._consecutive_429 = 0
            self._learn(headers)

    def _learn(self, headers: Mapping[str, str]) -> None:
        """What ``headers`` say about the limits (called under ``self._lock``)."""
        for kind, pace, given in (("requests", self._requests, self._given[0]), ("tokens", self._tokens, self._given[1])):
            limit = _number(headers.get(f"x-ratelimit-limit-{kind}"))
            if limit and not given:
                target = limit * LEARNED_SHARE * self._learned_share / 60
                if pace.per_second is None:
                    # the requests sent before we knew the limit used up the server's burst: no burst credit now
                    pace.tat = max(pace.tat, self._clock() + BURST_SECONDS)
                    pace.learned_at = self._clock()
                if pace.per_second is None or abs(pace.per_second - target) / target > 0.01:
                    pace.per_second = target
            remaining = _number(headers.get(f"x-ratelimit-remaining-{kind}"))
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}", "") or "")
            if remaining is not None and remaining <= 0 and reset:
                self._paused_until = max(self._paused_until, self._clock() + reset)

    def rate_limited(self, retry_after: float | None, headers: Mapping[str, str] | None = None) -> float:
        """A 429 arrived: pause everyone, slow down a little. Returns the pause in seconds.

        A 429 carries the same ``x-ratelimit-*`` headers as an answer; they are learned from too. The
        first wave of a run goes out before any answer could say what the limit is, and when it
        overshoots, its 429s are the first word from the server: without learning from them, the
        retries went out unpaced and overshot again."""
        with self._lock:
            if headers is not None:
                self._learn(headers)
            self.stats.rate_limited += 1
            self._consecutive_429 += 1
            pause = retry_after if retry_after is not None else 0.5 * 2 ** (self._consecutive_429 - 1)
            pause = min(max(pause, 0.0), self._max_pause)  # a server asking for an hour does not stall the run for an hour
            self._paused_until = max(self._paused_until, self._clock() + pause)
            for pace, given in ((self._requests, self._given[0]), (self._tokens, self._given[1])):
                # A learned pace was too optimistic; a given one is the user's call. The 429s of requests sent before the
                # limit was known (within the burst of learning it, say) do not count against it.
                if pace.per_second and not given and self._clock() - pace.learned_at > BURST_SECONDS:
                    pace.per_second *= 0.9
            return pause


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
