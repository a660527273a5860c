"""The bytes on the wire: request bodies serialised once, answers that are not JSON described in one line."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from pydantic import BaseModel


class BodyNotJSON(ValueError):
    """A 200 answer whose body is not JSON: a proxy's or captive portal's page, or a garbled body."""

    def __init__(self, content_type: str, body: str) -> None:
        kind = content_type.split(";")[0].strip() or "no content type"
        super().__init__(f"{kind}: {describe_body(body)}")


# What ``chat.completions.with_raw_response.create`` adds to a request: the body's type, and the
# SDK's marker for "hand back the raw response" (``.parse()`` then builds the ChatCompletion).
RAW_JSON: Any = {"headers": {"Content-Type": "application/json", "X-Stainless-Raw-Response": "true"}}


def json_body(kwargs: dict[str, Any]) -> bytes:
    """The request body as the SDK serialises it (compact separators, UTF-8, no NaN; models and
    datetimes the way its encoder writes them)."""
    return json.dumps(kwargs, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def first_line(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 600 else text[:600] + " ..."


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def describe_body(body: str) -> str:
    """A body that is not the API's JSON, in a few words: an HTML page by its title, else its start."""
    if "<html" in body[:1000].lower() or "<!doctype" in body[:1000].lower():
        title = _TITLE.search(body)
        named = f" titled {' '.join(title[1].split())[:120]!r}" if title else ""
        return f"an HTML page{named} (a proxy, gateway or login page answered instead of the API)"
    flat = " ".join(body.split())
    return repr(flat[:200]) if flat else "an empty body"
