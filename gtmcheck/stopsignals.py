"""SIGTERM and SIGHUP stop a run as Ctrl-C does, so its synthetic records are archived on the way out.

A CI runner cancels a job with SIGTERM (and a closed terminal sends SIGHUP); their default action ends the
process at once, which would leave the run's synthetic records in the CRM. While the plugin is configured both
raise ``KeyboardInterrupt`` instead (Python's own SIGINT handler): pytest ends the session as interrupted
(exit code 2) and ``pytest_sessionfinish`` runs the cleanup. During the cleanup itself all three are ignored,
so a second signal cannot cut it short. Signal handlers can only be set in the main thread; elsewhere (a
pytest run inside a thread) nothing changes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

# SIGHUP does not exist on Windows
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def stop_like_ctrl_c() -> dict[signal.Signals, Handler]:
    """Make SIGTERM and SIGHUP raise ``KeyboardInterrupt``; returns the handlers they had, for ``restore``.

    A signal the process was told to ignore (``nohup`` ignores SIGHUP) stays ignored, and one whose handler
    was set outside Python (``getsignal`` says ``None``) is left as it is: it could not be put back.
    """
    previous: dict[signal.Signals, Handler] = {}
    if not _main_thread():
        return previous
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current is None or current == signal.SIG_IGN:
            continue
        previous[signum] = signal.signal(signum, signal.default_int_handler)
    return previous


def restore(previous: dict[signal.Signals, Handler]) -> None:
    """Put back the handlers ``stop_like_ctrl_c`` replaced."""
    if not _main_thread():
        return
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@contextmanager
def ignoring_stops() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP are ignored inside (main thread only): the cleanup runs to its end."""
    previous: dict[signal.Signals, Handler] = {}
    if _main_thread():
        for signum in (signal.SIGINT, *STOP_SIGNALS):
            if signal.getsignal(signum) is not None:
                previous[signum] = signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        restore(previous)
