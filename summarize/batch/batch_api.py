"""OpenAI Batch API runs: the extraction requests go out as one batch at half price and are checked later.

    summarize batch INPUT... --out DIR --batch-api    write DIR/batch_requests.jsonl, upload it, create the batch
    summarize batch status DIR                        the batch's status and request counts
    summarize batch collect DIR [--wait]              download, check, re-ask, brief, write the usual outputs

Each request line carries the body the synchronous path would send (captured from instructor, strict
flags as LLM sets them), so answers pass the same gates: refusal, truncation, schema, every quote
checked against the article. Lines that errored, are missing or fail a gate are asked again
synchronously through the normal LLM, retries and re-asks included; so are articles longer than
--chunk-chars, which need several calls. The request file also runs on vLLM's offline runner
(``--no-upload``, then ``collect --results FILE``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import signal
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, closing
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from summarize.batch.inputs import BatchItem, collect
from summarize.batch.lock import DirLock
from summarize.batch.runner import BatchOptions, BatchResult, BatchRun, Event, finish
from summarize.batch.stop import Stop, StoppableLimiter
from summarize.batch.store import Store, WorkKeys
from summarize.brief.writer import BriefOptions
from summarize.config import Settings
from summarize.errors import ConfigError, ModelOutputError, StoppedError, SummarizeError, UsageError
from summarize.extract.chunk import split_text
from summarize.extract.extractor import extract_source, source_metadata
from summarize.fileio import atomic_write
from summarize.llm.cassette import cassette, unplayed
from summarize.llm.client import LLM, BatchClient, BatchLine, CallRecord, read_result_line, request_body
from summarize.llm.prompts import Prompt, fence, load_prompt
from summarize.llm.protocol import CallLabel, Result, StructuredModel
from summarize.models.draft import ExtractionDraft
from summarize.models.report import FailedItem, Source, Usage
from summarize.sources.files import Skipped

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

STATE = "batch_api"  # the Store state row holding the submission
REQUESTS_FILE = "batch_requests.jsonl"
ENDPOINT = "/v1/chat/completions"
UPLOAD_BOUNDARY = "summarize-batch-upload-6f1d2c"  # the SDK's random boundary would keep a recorded upload from replaying
BATCH_DISCOUNT = 0.5  # the Batch API bills half the synchronous price
MAX_REQUESTS, MAX_FILE_BYTES = 50_000, 200 * 1024 * 1024  # OpenAI's limits per batch
PENDING = ("validating", "in_progress", "finalizing", "cancelling")


# --- request lines --------------------------------------------------------------------------


def render_messages(source: Source, settings: Settings, prompt: Prompt) -> list[dict[str, str]] | None:
    """The messages extract_source sends for a one-chunk article; None when it needs several calls."""
    chunks = split_text(source.text, max_chars=settings.chunk_chars, overlap=min(settings.chunk_overlap, settings.chunk_chars // 4))
    if len(chunks) > 1:
        return None
    return prompt.render(source_id=source.id, metadata=source_metadata(source), part="", fenced_text=fence(source.id, chunks[0].text))


# --- endpoint and state ---------------------------------------------------------------------


def _need_endpoint(settings: Settings, why: str) -> None:
    try:
        settings.require_endpoint()
    except ConfigError as exc:
        raise ConfigError(f"{exc.message}; {why}") from None


def _session(settings: Settings) -> AbstractContextManager[Any]:
    return cassette(record=settings.record, replay=settings.replay, secrets=[settings.api_key or ""])


def _state(store: Store) -> dict[str, Any]:
    raw = store.get_state(STATE)
    if raw is None:
        raise UsageError(f"no Batch API submission in {store.path.parent}: run `summarize batch INPUT... --out {store.path.parent} --batch-api` first")
    return cast(dict[str, Any], json.loads(raw))


def read_state(out: Path) -> dict[str, Any]:
    if not (out / "store.sqlite").is_file():
        raise UsageError(f"no batch store in {out} (expected {out / 'store.sqlite'})")
    store = Store(out / "store.sqlite")
    try:
        return _state(store)
    finally:
        store.close()


def _as_submitted(settings: Settings, state: dict[str, Any]) -> Settings:
    """The submission's model, mode and chunking: they define the work keys and what answers are checked as."""
    s = state["settings"]
    return dataclasses.replace(
        settings, model=s["model"], mode=s["mode"], strict=s["strict"], chunk_chars=s["chunk_chars"], chunk_overlap=s["chunk_overlap"],
        max_reasks=s["max_reasks"], prompts_dir=Path(s["prompts_dir"]) if s["prompts_dir"] else None,
        # the endpoint the batch went to, unless another one is named now
        base_url=settings.base_url or s["base_url"], profile=settings.profile if settings.base_url else s["profile"],
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- submit and status ----------------------------------------------------------------------


def submit(inputs: Sequence[str], settings: Settings, options: BatchOptions, *, upload: bool = True) -> dict[str, Any]:
    """Write DIR/batch_requests.jsonl for the articles not done yet; upload it and create the batch. Returns the stored state."""
    if "-" in inputs:
        raise UsageError("--batch-api reads the inputs again at collect time, and standard input (-) cannot be read twice")
    inputs = [str(Path(i).resolve()) for i in inputs]  # collect may run from another directory
    items, read_failures = collect(inputs, group=options.group, max_bytes=settings.max_bytes, exclude=options.out)
    with DirLock(options.out, "batch --batch-api " + " ".join(inputs)):
        return _submit(inputs, items, len(read_failures), settings, options, upload=upload)


def _submit(inputs: list[str], items: list[BatchItem], read_failures: int, settings: Settings, options: BatchOptions, *, upload: bool) -> dict[str, Any]:
    store = Store(options.out / "store.sqlite")
    try:
        if (old := store.get_state(STATE)) and (prev := json.loads(old))["batch_id"] and not prev.get("collected_at"):
            raise UsageError(f"batch {prev['batch_id']} in {options.out} is not collected yet: run `summarize batch collect {options.out}` first")
        work = WorkKeys(settings, options.brief_options.language)
        keys = {item.source.id: work.key(item) for item in items}
        done = store.done_keys(list(keys.values()))
        prompt = load_prompt("extract", settings.prompts_dir)
        lines: list[str] = []
        entries: dict[str, dict[str, str]] = {}
        for item in items:
            key = keys[item.source.id]
            messages = None if key in done else render_messages(item.source, settings, prompt)
            sent = "done" if key in done else "sync" if messages is None else "batch"
            entries[key] = {"story": item.story, "item": item.source.path or item.source.id, "sent": sent}
            if messages is not None:
                request = {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": request_body(ExtractionDraft, messages, settings)}
                lines.append(json.dumps(request, ensure_ascii=False))
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        if len(lines) > MAX_REQUESTS or len(data) > MAX_FILE_BYTES:
            raise UsageError(f"{len(lines):,} requests, {len(data):,} bytes: over the Batch API's limits ({MAX_REQUESTS:,} requests, 200 MB); split the inputs")
        atomic_write(options.out / REQUESTS_FILE, data.decode("utf-8"))
        s = settings
        state: dict[str, Any] = {
            "batch_id": None, "input_file_id": None, "requests": len(lines), "requests_sha256": hashlib.sha256(data).hexdigest(), "inputs": inputs,
            "group": options.group, "brief": options.brief, "language": options.brief_options.language, "items": entries,
            "read_failures": read_failures, "submitted_at": _now(), "status": None,
            "settings": {"model": s.model, "mode": s.mode, "strict": s.strict, "chunk_chars": s.chunk_chars, "chunk_overlap": s.chunk_overlap,
                         "max_reasks": s.max_reasks, "prompts_dir": str(s.prompts_dir or "") or None, "base_url": s.base_url, "profile": s.profile},
        }
        if upload and lines:
            with _session(settings), closing(BatchClient(settings)) as client:
                file_id = client.upload_requests(data, filename=REQUESTS_FILE, boundary=UPLOAD_BOUNDARY)
                metadata = {"created_by": "summarize", "requests_sha256": state["requests_sha256"][:32]}  # no version: recordings stay valid across releases
                batch = client.create_batch(file_id, endpoint=ENDPOINT, metadata=metadata)
            state.update(batch_id=batch["id"], input_file_id=file_id, status=batch)
        store.set_state(STATE, json.dumps(state, ensure_ascii=False))
        return state
    finally:
        store.close()


def batch_status(out: Path, settings: Settings) -> dict[str, Any]:
    """Retrieve the batch and keep what the endpoint said in the state."""
    store = Store(out / "store.sqlite")
    try:
        state = _state(store)
        if not state["batch_id"]:
            return {"status": "not_uploaded", "requests": state["requests"]}
        settings = _as_submitted(settings, state)
        with _session(settings), closing(BatchClient(settings)) as client:
            state["status"] = client.retrieve(state["batch_id"])
        store.set_state(STATE, json.dumps(state, ensure_ascii=False))
        return cast(dict[str, Any], state["status"])
    finally:
        store.close()


# --- collect --------------------------------------------------------------------------------


def _pause(seconds: float, stop: Stop, batch_id: str, status: str) -> None:
    """Sleep between polls, ending at once on a stop request: the batch keeps running at the endpoint."""
    end = time.monotonic() + seconds
    while not stop.requested and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))
    if stop.signal is not None:
        why = f"stopped by {stop.signal} while batch {batch_id} is {status}; it keeps running at the endpoint: collect it later"
        raise StoppedError(why, signum=signal.Signals[stop.signal])


def _download(settings: Settings, batch_id: str, *, wait: bool, poll: float, stop: Stop) -> tuple[str, dict[str, Any]]:
    """The output and error files' lines once the batch has finished, or stopped with partial output."""
    with closing(BatchClient(settings)) as client:
        batch = client.retrieve(batch_id)
        while wait and batch["status"] in PENDING:
            _pause(poll, stop, batch_id, batch["status"])
            batch = client.retrieve(batch_id)
        if batch["status"] in PENDING:
            counts = f" ({c['completed']} of {c['total']} requests done)" if (c := batch.get("request_counts")) else ""
            raise UsageError(f"batch {batch_id} is {batch['status']}{counts}: nothing to collect yet; see `summarize batch status`, or collect with --wait")
        for err in (batch["errors"].get("data") or []) if batch.get("errors") else []:
            log.warning("batch %s: %s%s", batch_id, err.get("message"), f" (line {err['line']})" if err.get("line") else "")
        text = ""
        for file_id in filter(None, (batch.get("output_file_id"), batch.get("error_file_id"))):
            text += client.download(file_id) + "\n"
    return text, batch


class _BatchAnswer:
    """Stands in for the LLM inside extract_source: hands over the batch answer through the gates LLM applies to every answer."""

    def __init__(self, line: BatchLine, usage: Usage, settings: Settings) -> None:
        self.line, self.usage, self.settings = line, usage, settings

    def structured(self, response_model: type[T], messages: list[dict[str, str]], *, label: CallLabel | None = None) -> Result[T]:
        text = self.line.text(self.settings.mode)  # refusal, truncation, no choices: as for a synchronous answer
        try:  # extract_source has set VERIFY: this checks every quote against the article too
            value = response_model.model_validate_json(text)
        except ValueError as exc:  # pydantic's ValidationError included
            raise ModelOutputError(f"the batch answer did not validate: {str(exc)[:600]}", attempts=1) from None
        return Result(value, self.usage, 0, False, None)


_: type[StructuredModel] = _BatchAnswer


def _usage(line: BatchLine, settings: Settings, discount: float) -> Usage:
    usage = line.usage()
    if settings.price_input is not None and settings.price_output is not None:
        usage.cost_usd = round((usage.prompt_tokens * settings.price_input + usage.completion_tokens * settings.price_output) * discount / 1e6, 6)
    return usage


@dataclasses.dataclass
class _Applied:
    stored: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # source id -> event details of reports taken from the batch
    reasks: dict[str, str] = dataclasses.field(default_factory=dict)  # item -> why it is asked again synchronously
    wasted: Usage = dataclasses.field(default_factory=Usage)  # answers received that did not pass


def _apply(text: str, by_key: dict[str, BatchItem], store: Store, settings: Settings, discount: float) -> _Applied:
    """Check each result line like a synchronous answer and store the reports that pass."""
    prompt = load_prompt("extract", settings.prompts_dir)
    got, seen, done = _Applied(), set(), store.done_keys(list(by_key))
    for raw in filter(str.strip, text.splitlines()):
        try:
            line = json.loads(raw)
        except ValueError:
            log.warning("skipping a result line that is not JSON: %.80s", raw)
            continue
        key = line.get("custom_id") if isinstance(line, dict) else None
        if key not in by_key or key in done or key in seen:
            continue
        seen.add(key)
        item = by_key[key]
        label = item.source.path or item.source.id
        answer = read_result_line(line)
        usage = _usage(answer, settings, discount) if answer.answered else Usage()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        outcome, status = ("batch" if answer.answered else "batch_error"), (line.get("response") or {}).get("status_code")
        tokens = (usage.prompt_tokens, usage.completion_tokens)
        store.log_call(CallRecord(now, "extract", item.source.id, prompt.name, prompt.sha256, settings.model, *tokens, 0.0, outcome, status))
        if not answer.answered:
            got.reasks[label] = answer.problem
            continue
        try:
            report = extract_source(item.source, _BatchAnswer(answer, usage, settings), settings, prompt)
        except SummarizeError as exc:
            got.reasks[label], got.wasted = exc.message, got.wasted.add(usage)
            continue
        store.put_report(key, item.story, label, report)
        got.stored[item.source.id] = {"tokens": usage.total_tokens, "verified": report.verified, "usage": usage}
    for key, item in by_key.items():
        if key not in done and key not in seen:
            got.reasks[item.source.path or item.source.id] = "no answer in the batch results"
    return got


def collect_batch(
    out: Path,
    settings: Settings,
    options: BatchOptions,
    *,
    results: Path | None = None,
    wait: bool = False,
    poll: float = 60.0,
    on_event: Event | None = None,
    stop: Stop | None = None,
) -> tuple[BatchResult, dict[str, str]]:
    """Check the batch answers, ask the rest again synchronously, brief, write the outputs. Returns the result and what was asked again, with why."""
    with DirLock(out, f"batch collect {out}"):
        return _collect(out, settings, options, results, wait, poll, on_event, stop)


def _collect(
    out: Path, settings: Settings, options: BatchOptions, results: Path | None, wait: bool, poll: float, on_event: Event | None, stop: Stop | None
) -> tuple[BatchResult, dict[str, str]]:
    store = Store(out / "store.sqlite")
    try:
        state = _state(store)
        if not state["batch_id"] and results is None and state["requests"]:
            raise UsageError(f"the requests in {out / REQUESTS_FILE} were not uploaded: run them (with vLLM, see the README) and pass --results FILE")
        settings = _as_submitted(settings, state)
        brief = BriefOptions(language=state["language"])
        options = dataclasses.replace(options, group=state["group"], brief=options.brief and state["brief"], brief_options=brief)
        skipped: list[Skipped] = []
        items, read_failures = collect(state["inputs"], group=state["group"], max_bytes=settings.max_bytes, exclude=out, skipped=skipped)
        stop = stop or Stop()
        limiter = StoppableLimiter(stop, options.rpm, options.tpm)
        got, llm = _Applied(), None

        def event(kind: str, item: str, details: dict[str, Any]) -> None:
            if on_event is not None:  # answers taken from the batch count as done, not as cached
                on_event(*(("done", item, got.stored[item]) if kind == "cached" and item in got.stored else (kind, item, details)))

        work = WorkKeys(settings, options.brief_options.language)
        present = {work.key(i): i for i in items}
        by_key = {k: i for k, i in present.items() if k in state["items"]}
        gone = [e["item"] for k, e in state["items"].items() if k not in present]
        changed = [FailedItem(item=i, stage="read", error="changed", message=f"{i}: changed or gone since the batch was submitted") for i in gone]
        if options.brief:
            _need_endpoint(settings, "the briefings need it (or pass --no-brief)")
        with _session(settings) as cas:
            if results is not None:
                text, info = results.read_text(encoding="utf-8"), {"status": "local", "results": str(results)}
            elif state["batch_id"]:
                text, info = _download(settings, state["batch_id"], wait=wait, poll=poll, stop=stop)
            else:
                text, info = "", {"status": "nothing_uploaded"}
            store.start_run(f"batch collect {out}")  # only now: a batch still running leaves no empty run in the log
            sent = {k: state["items"][k]["sent"] for k in by_key}
            got = _apply(text, {k: i for k, i in by_key.items() if sent[k] == "batch"}, store, settings, 1.0 if results else BATCH_DISCOUNT)
            done = store.done_keys(list(by_key))
            got.reasks.update({i.source.path or i.source.id: "longer than --chunk-chars" for k, i in by_key.items() if sent[k] == "sync" and k not in done})
            if left := sum(k not in done for k in by_key):
                _need_endpoint(settings, f"{left} article(s) must be asked again synchronously (answers that passed are kept: collect again)")
            if left or options.brief:
                llm = LLM(settings, limiter=limiter, observer=limiter.observer(store.log_call))
            run = BatchRun(settings, options, llm, store, event, stop)
            result = run.result
            result.skipped_not_articles = [s.as_dict() for s in skipped]
            failing = True
            try:
                run.run(list(by_key.values()), [*read_failures, *changed])
                failing = False
            finally:
                result.cached -= len(got.stored)
                result.extracted += len(got.stored)
                result.partial += sum(1 for s in got.stored.values() if not s["verified"])
                for usage in [*(s["usage"] for s in got.stored.values()), got.wasted]:
                    result.usage = result.usage.add(usage)
                result.calls, result.rate_limited = store.count_calls(store.run_id), limiter.stats.rate_limited
                finish(out, store, run, list(by_key.values()), failing=failing)
                if llm is not None:
                    llm.close()
            if left := unplayed(cas):
                log.warning("%d recorded interaction(s) in %s were not used: the inputs differ from the recording", left, settings.replay)
        state.update(status=info, collected_at=_now(), collected={"from_batch": len(got.stored), "asked_again": got.reasks})
        store.set_state(STATE, json.dumps(state, ensure_ascii=False))
        return result, got.reasks
    finally:
        store.close()
