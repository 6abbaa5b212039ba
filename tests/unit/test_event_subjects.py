"""Guards of the single sources of truth for events: every event message declares
its subject in protos/, and exactly one stream of deploy/nats/streams.yaml takes it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import mintong
from services.runtime.config import ServiceSettings
from services.runtime.events import StreamSpec, load_streams, subject_of


def event_messages() -> list[type]:
    """Every message of every generated ``events.proto`` (the generated packages are
    namespace packages, which pkgutil does not walk)."""
    found = []
    for root in mintong.__path__:
        for path in sorted(Path(root).rglob("events_pb2.py")):
            name = ".".join(("mintong", *path.relative_to(root).with_suffix("").parts))
            loaded = importlib.import_module(name)
            found += [getattr(loaded, m) for m in loaded.DESCRIPTOR.message_types_by_name]
    return found


def test_there_are_events_to_guard() -> None:
    assert len(event_messages()) >= 4


@pytest.mark.parametrize("message", event_messages(), ids=lambda m: m.DESCRIPTOR.full_name)
def test_every_event_has_a_subject_taken_by_exactly_one_stream(message: type) -> None:
    streams = load_streams(ServiceSettings().nats_streams_file)
    subject = subject_of(message)
    assert subject.startswith("mintong."), subject
    assert [s.name for s in streams if s.covers(subject)] != [], f"no stream takes {subject}"
    assert len([s for s in streams if s.covers(subject)]) == 1, f"several streams take {subject}"


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("mintong.booking.>", "mintong.booking.slots.published", True),
        ("mintong.booking.>", "mintong.booking", False),
        ("mintong.*.slots.published", "mintong.booking.slots.published", True),
        ("mintong.*", "mintong.booking.slots", False),
        ("mintong.booking.slots.published", "mintong.booking.slots.published", True),
        ("mintong.booking.slots", "mintong.booking.slots.published", False),
    ],
)
def test_nats_wildcards(pattern: str, subject: str, matches: bool) -> None:
    assert StreamSpec("S", [pattern], 1, 1).covers(subject) is matches
