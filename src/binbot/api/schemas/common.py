"""Base models: responses are plain typed records; request bodies reject unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(Out):
    """The body of every 4xx/5xx answer."""

    detail: str


class Accepted(Out):
    ok: bool = True
