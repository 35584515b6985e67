"""Helpers for unit tests of tools outside a component."""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Sequence

from . import host


@contextlib.contextmanager
def recording(answers: Optional[Sequence[host.Answer]] = None) -> Iterator[host.RecordingHost]:
    """A fresh `RecordingHost` for the helpers while the block runs: what the
    tool logged and reported, and the client requests it made, answered from
    `answers` in order."""
    recorder = host.RecordingHost(answers)
    previous = host.install(recorder)
    try:
        yield recorder
    finally:
        host.install(previous)
