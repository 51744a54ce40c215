"""SIGTERM and SIGHUP end a run as Ctrl-C does (issue 8): while gtmcheck's plugin is configured they raise
``KeyboardInterrupt``, pytest reports the session as interrupted (exit 2) and its teardown and the end-of-run
cleanup still run; afterwards the handlers the process had are back. ``test_routing_interrupt`` shows the same
for ``gtmcheck run`` against the served sandbox, where no tagged record survives."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from gtmcheck.stopsignals import STOP_SIGNALS, ignoring_stops

SEES_HANDLERS = """
import signal

def test_handlers():
    assert signal.getsignal(signal.SIGTERM) is signal.default_int_handler
    assert signal.getsignal(signal.SIGHUP) is {sighup}
"""

KILLS_ITSELF = """
import os, signal, time
import pytest

@pytest.fixture
def resource():
    yield
    print("teardown ran")

def test_cancelled_by_the_ci_runner(resource):
    os.kill(os.getpid(), signal.{name})
    time.sleep(30)  # the signal arrives here

def test_never_reached():
    pass
"""


@pytest.fixture
def handlers() -> Iterator[dict[signal.Signals, object]]:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, *STOP_SIGNALS)}
    yield before
    for signum, handler in before.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


def test_the_plugin_sets_them_for_the_session_and_puts_the_old_ones_back(
        pytester: pytest.Pytester, handlers: dict[signal.Signals, object]) -> None:
    pytester.makepyfile(test_seen=SEES_HANDLERS.format(sighup="signal.default_int_handler"))
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert {s: signal.getsignal(s) for s in handlers} == handlers


def test_an_ignored_sighup_stays_ignored(pytester: pytest.Pytester, handlers: dict[signal.Signals, object]) -> None:
    """Under ``nohup`` a closed terminal must not stop the run."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    pytester.makepyfile(test_seen=SEES_HANDLERS.format(sighup="signal.SIG_IGN"))
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


def test_the_cleanup_ignores_all_three(handlers: dict[signal.Signals, object]) -> None:
    with ignoring_stops():
        assert all(signal.getsignal(s) is signal.SIG_IGN for s in handlers)
    assert {s: signal.getsignal(s) for s in handlers} == handlers


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_signalled_session_ends_as_interrupted_with_its_teardown(pytester: pytest.Pytester, name: str) -> None:
    pytester.makepyfile(test_cancelled=KILLS_ITSELF.format(name=name))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", timeout=60)
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert "teardown ran" in result.stdout.str() and "Traceback" not in result.stdout.str()
    assert "1 passed" not in result.stdout.str()  # it stopped there: the next test never ran
