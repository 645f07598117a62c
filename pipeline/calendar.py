"""The collection calendar (config/collection_calendar.yaml) as plain, testable functions."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from contracts.yaml_file import read_yaml

from pipeline import paths

CALENDAR_PATH = paths.REPO / "config" / "collection_calendar.yaml"


@dataclass(frozen=True)
class Collection:
    period: str
    opens: date
    deadline: date
    publish: date | None = None  # the initial return has no publication of its own
    kind: str = "quarterly"      # quarterly | initial (the return due with the plan)

    @property
    def is_initial(self) -> bool:
        return self.kind == "initial"


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    return read_yaml(path)


def calendar_path() -> Path:
    return Path(os.environ.get("LSRP_CALENDAR", CALENDAR_PATH))


def collections() -> list[Collection]:
    return [Collection(**c) for c in _load(str(calendar_path()))["collections"]]


def settle_seconds() -> float:
    return float(os.environ.get("LSRP_SETTLE_SECONDS", _load(str(calendar_path())).get("settle_seconds", 10)))


def empty_upload_seconds() -> float:
    """How long a 0-byte upload waits before it is answered as empty (the calendar's
    ``empty_upload_seconds``, default 60; env LSRP_EMPTY_SECONDS overrides)."""
    return float(_load(str(calendar_path())).get("empty_upload_seconds", 60))


def open_collection(today: date) -> Collection | None:
    """The collection whose window (opens..deadline) contains today."""
    return next((c for c in collections() if c.opens <= today <= c.deadline), None)


def initial_collection() -> Collection | None:
    """The initial return's window (kind: initial): baselines and targets are locked once it is accepted."""
    return next((c for c in collections() if c.is_initial), None)


def published() -> list[Collection]:
    """Collections that have a publication day (every quarter; not the initial return)."""
    return [c for c in collections() if c.publish is not None]


def publication_due(today: date) -> Collection | None:
    return next((c for c in published() if c.publish == today), None)


def latest_period(today: date) -> str:
    """The most recent quarter whose collection has opened (default for publication)."""
    opened = [c for c in published() if c.opens <= today]
    return (opened[-1] if opened else published()[0]).period


def next_window(today: date) -> Collection | None:
    """The first collection whose window opens after today (None once the calendar has run out)."""
    return next((c for c in collections() if c.opens > today), None)


def next_publication(today: date) -> Collection | None:
    return next((c for c in published() if c.publish > today), None)


def outside_window_reason(today: date) -> tuple[str, bool]:
    """Why no collection window is open today, and whether the calendar has run out (a warning)."""
    nxt = next_window(today)
    if nxt is not None:
        return (f"No collection window is open on {today}; the next, {nxt.period}, opens on {nxt.opens} "
                f"(deadline {nxt.deadline}).", False)
    last = collections()[-1]
    return (f"The collection calendar has run out: its last window ({last.period}) closed on {last.deadline}. "
            f"Add the next collections to {calendar_path()}.", True)


def no_publication_reason(today: date) -> tuple[str, bool]:
    nxt = next_publication(today)
    if nxt is not None:
        return f"No publication is due on {today}; the next, {nxt.period}, is on {nxt.publish}.", False
    last = published()[-1]
    return (f"The collection calendar has run out: its last publication ({last.period}) was on {last.publish}. "
            f"Add the next collections to {calendar_path()}.", True)
