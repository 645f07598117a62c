"""The collection calendar (config/collection_calendar.yaml) as plain, testable functions."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline import paths

CALENDAR_PATH = paths.REPO / "config" / "collection_calendar.yaml"


@dataclass(frozen=True)
class Collection:
    period: str
    opens: date
    deadline: date
    publish: date


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def calendar_path() -> Path:
    return Path(os.environ.get("LSRP_CALENDAR", CALENDAR_PATH))


def collections() -> list[Collection]:
    return [Collection(**c) for c in _load(str(calendar_path()))["collections"]]


def settle_seconds() -> float:
    return float(os.environ.get("LSRP_SETTLE_SECONDS", _load(str(calendar_path())).get("settle_seconds", 10)))


def open_collection(today: date) -> Collection | None:
    """The collection whose window (opens..deadline) contains today."""
    return next((c for c in collections() if c.opens <= today <= c.deadline), None)


def publication_due(today: date) -> Collection | None:
    return next((c for c in collections() if c.publish == today), None)


def latest_period(today: date) -> str:
    """The most recent quarter whose collection has opened (default for publication)."""
    opened = [c for c in collections() if c.opens <= today]
    return (opened[-1] if opened else collections()[0]).period
