"""The CPU lane and the per-thread SDK clients that keep a large batch's slots busy (issue 15).

* ``CpuLane``: between HTTP exchanges one thread at a time does its CPU work; every wait (a slot,
  the exchange, a pacing or retry sleep) gives the lane up, and a thread outside ``item()`` (a
  briefing call, a library caller) is never held by it;
* ``LLM``: each thread sends through its own SDK client and connection pool, one client a
  caller gave is shared, and ``close`` closes every thread's client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from scripted_server import Reply, ScriptedServer

from summarize.batch.workers import in_lane
from summarize.cli.doctor import PROBE_MESSAGES, Probe
from summarize.config import Settings
from summarize.llm.client import LLM
from summarize.llm.ratelimit import CpuLane, Limiter

PROBE_OK = {"answer": "ok", "number": 7}


class Overlap:
    """How many threads are inside a section at once, at most."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.most = 0

    def section(self, seconds: float) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)  # sleeping, not computing: without the lane, the threads would overlap here freely
        with self._lock:
            self.now -= 1


def run_threads(n: int, target: Callable[[], None]) -> float:
    threads = [threading.Thread(target=target) for _ in range(n)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "a thread is stuck: the lane was not given up"
    return time.monotonic() - started


def test_work_between_exchanges_runs_one_thread_at_a_time_and_exchanges_overlap() -> None:
    limiter = Limiter(concurrency=8, lane=CpuLane())
    grounding, exchanges = Overlap(), Overlap()

    def item() -> None:
        for _ in range(3):  # a first request and two re-asks
            with limiter.slot():
                exchanges.section(0.05)
            grounding.section(0.01)

    elapsed = run_threads(8, lambda: in_lane(limiter, item))
    assert grounding.most == 1, "two threads grounded at once inside the lane"
    assert exchanges.most >= 4, f"the exchanges did not overlap: at most {exchanges.most} in flight"
    assert elapsed < 8 * 3 * 0.06, f"the lane serialised the exchanges too ({elapsed:.2f}s)"


def test_without_a_lane_the_same_work_overlaps() -> None:
    # The check above can fail: here nothing serialises the work between exchanges.
    limiter = Limiter(concurrency=8)
    grounding = Overlap()

    def item() -> None:
        with limiter.slot():
            time.sleep(0.02)
        grounding.section(0.05)

    run_threads(8, lambda: in_lane(limiter, item))
    assert grounding.most > 1


def test_a_retry_backoff_and_a_pacing_wait_give_the_lane_up() -> None:
    # One thread backs off for a second while holding what it grounded so far; the others must not wait for it.
    lane = CpuLane()
    limiter = Limiter(concurrency=4, lane=lane)
    held_while_sleeping: list[bool] = []

    def backing_off() -> None:
        with limiter.slot():
            pass
        assert lane.held
        limiter.idle(lambda s: (held_while_sleeping.append(lane.held), time.sleep(s)), 1.0)
        assert lane.held, "the lane is taken back after the backoff"

    def quick() -> None:
        with limiter.slot():
            pass
        time.sleep(0.01)

    slow = threading.Thread(target=lambda: in_lane(limiter, backing_off))
    slow.start()
    time.sleep(0.1)
    elapsed = run_threads(4, lambda: in_lane(limiter, quick))
    slow.join(timeout=5)
    assert held_while_sleeping == [False]
    assert elapsed < 0.6, f"the other threads waited for a thread sleeping in its backoff ({elapsed:.2f}s)"


def test_a_pacing_wait_inside_a_slot_does_not_take_the_lane_back_for_the_exchange() -> None:
    lane = CpuLane()
    limiter = Limiter(rpm=6000, concurrency=2, lane=lane)
    seen: list[bool] = []

    def item() -> None:
        with limiter.slot():
            limiter.acquire(10)  # may sleep (pacing): nested inside the slot's own wait
            seen.append(lane.held)
        seen.append(lane.held)

    in_lane(limiter, item)
    assert seen == [False, True], "the exchange ran holding the lane, or the lane was not taken after it"


def test_a_thread_outside_an_item_is_never_held_by_the_lane() -> None:
    # A briefing call or a library caller uses the same limiter without item(): it must neither take nor wait for the lane.
    lane = CpuLane()
    limiter = Limiter(concurrency=2, lane=lane)
    inside = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with limiter.slot():
            pass
        inside.set()  # holds the lane now, until released
        release.wait(5)

    t = threading.Thread(target=lambda: in_lane(limiter, holder))
    t.start()
    assert inside.wait(5)
    started = time.monotonic()
    with limiter.slot():
        pass
    assert time.monotonic() - started < 0.5 and not lane.held
    release.set()
    t.join(5)
    with lane.item():  # and the lane is free again once the holder's item ended
        with limiter.slot():
            pass
        assert lane.held
    assert not lane.held


def _settings(url: str) -> Settings:
    return Settings(base_url=url, profile="generic", mode="tools", strict=False, timeout=5.0, transport_retries=0)


def test_each_thread_sends_through_its_own_client_and_close_closes_them_all() -> None:
    with ScriptedServer(lambda body: Reply.answer(PROBE_OK)) as server:
        llm = LLM(_settings(server.url))
        used: list[object] = []  # kept alive here, so no two clients can share an id
        lock = threading.Lock()

        def call() -> None:
            assert llm.structured(Probe, PROBE_MESSAGES).value.number == 7
            llm.structured(Probe, PROBE_MESSAGES)
            with lock:
                used.append(llm._thread_client())

        run_threads(6, call)
        clients = used
        assert len({id(c) for c in clients}) == 6, "two threads shared one connection pool"
        assert len(server.requests) == 12
        llm.close()
        assert all(c._client.is_closed for c in clients)  # type: ignore[attr-defined]


def test_a_client_the_caller_gives_is_shared_by_every_thread() -> None:
    seen: list[str] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(threading.current_thread().name)
        return httpx.Response(503, json={"error": {"message": "busy", "type": "server_error"}})

    given = httpx.Client(transport=httpx.MockTransport(transport))
    llm = LLM(_settings("http://127.0.0.1:9/v1"), http_client=given)

    def call() -> None:
        with pytest.raises(Exception, match="HTTP 503"):
            llm.structured(Probe, PROBE_MESSAGES)

    run_threads(3, call)
    assert len(seen) == 3
    llm.close()
    assert given.is_closed
