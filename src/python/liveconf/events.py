"""The JSON-lines events of ``liveconf watch --format json`` (docs/cli.md) as
Python objects, for programs that supervise the CLI::

    proc = subprocess.Popen(["liveconf", "watch", "app.yaml", "--format", "json"],
                            stdout=subprocess.PIPE, text=True)
    for event in liveconf.events.read(proc.stdout):
        if isinstance(event, liveconf.events.Changed):
            for change in event.changes:
                print(change.path, change.old, "->", change.new)

An event type this version does not know is returned as :class:`Event` with
its fields in ``data``, so a newer CLI never breaks an older reader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional

_ABSENT: Any = None


@dataclass(frozen=True)
class EventChange:
    """One changed key. ``old``/``new`` are absent (``has_old``/``has_new``
    False) when the key appeared or disappeared; secrets are "***"."""

    path: str
    old: Any = None
    new: Any = None
    old_source: str = ""
    new_source: str = ""
    has_old: bool = False
    has_new: bool = False

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "EventChange":
        return EventChange(
            path=d.get("path", ""),
            old=d.get("old"),
            new=d.get("new"),
            old_source=d.get("old_source", ""),
            new_source=d.get("new_source", ""),
            has_old="old" in d,
            has_new="new" in d,
        )


@dataclass(frozen=True)
class Event:
    """Any event: its type and every field as parsed."""

    event: str
    data: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Loaded(Event):
    generation: int = 0
    snapshot: int = 0
    config: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Changed(Event):
    generation: int = 0
    snapshot: int = 0
    changes: List[EventChange] = field(default_factory=list)
    config: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Error(Event):
    source: str = ""
    message: str = ""
    generation: int = 0
    snapshot: int = 0


@dataclass(frozen=True)
class SourceState(Event):
    source: str = ""
    state: str = ""
    message: Optional[str] = None


@dataclass(frozen=True)
class Pinned(Event):
    generation: int = 0
    snapshot: int = 0
    pinned_generation: int = 0
    expires: Optional[str] = None
    reason: str = ""
    changes: List[EventChange] = field(default_factory=list)
    config: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Unpinned(Event):
    generation: int = 0
    snapshot: int = 0
    changes: List[EventChange] = field(default_factory=list)
    config: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Healthy(Event):
    snapshot: int = 0


@dataclass(frozen=True)
class Reverted(Event):
    generation: int = 0
    snapshot: int = 0
    from_snapshot: int = 0
    to_snapshot: int = 0
    reason: str = ""
    quarantined: List[str] = field(default_factory=list)
    changes: List[EventChange] = field(default_factory=list)
    config: Dict[str, Any] = field(default_factory=dict)


_TYPES = {
    "loaded": Loaded,
    "changed": Changed,
    "error": Error,
    "source": SourceState,
    "pinned": Pinned,
    "unpinned": Unpinned,
    "healthy": Healthy,
    "reverted": Reverted,
}


def parse(line: str) -> Event:
    """One JSON line -> its event object. Raises ValueError for a line that is
    not a JSON object with an "event" field."""
    d = json.loads(line)
    if not isinstance(d, dict) or not isinstance(d.get("event"), str):
        raise ValueError(f"not a liveconf event: {line.strip()[:200]!r}")
    kind = d["event"]
    cls = _TYPES.get(kind)
    if cls is None:
        return Event(kind, d)
    kwargs: Dict[str, Any] = {}
    for name in cls.__dataclass_fields__:
        if name in ("event", "data"):
            continue
        key = {"from_snapshot": "from", "to_snapshot": "to"}.get(name, name)
        if name == "quarantined":
            kwargs[name] = list((d.get("revert") or {}).get("quarantined", []))
        elif name == "changes":
            kwargs[name] = [EventChange.from_json(c) for c in d.get("changes", [])]
        elif key in d:
            kwargs[name] = d[key]
    return cls(kind, d, **kwargs)


def read(lines: Iterable[str]) -> Iterator[Event]:
    """Events from a stream of lines (blank lines skipped)."""
    for line in lines:
        if line.strip():
            yield parse(line)
