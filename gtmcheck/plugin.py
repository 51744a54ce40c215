"""The pytest plugin: ``*.gtm.yml`` files become ``ChecklistFile`` collectors whose items are DoD checks.

Registered through the ``pytest11`` entry point, so plain ``pytest checks/`` works. A bad checklist is a
collection error at its line (never a fake test failure); a failed check renders as the DoD item, expected
vs received and the evidence, with no Python traceback unless ``--gtm-traceback`` asks for one.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import threading
from collections.abc import Generator, Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from . import secrets, terminal
from .baseline import baseline_path
from .baseline.check import DOD_ID as DRIFT_ID
from .baseline.check import MARKER as DRIFT_MARKER
from .baseline.check import drift_check, drift_item
from .context import RunContext
from .dod import KINDS, DodItem
from .errors import (
    CheckError,
    CheckFailed,
    ConfigError,
    ConnectorError,
    Evidence,
    GtmcheckError,
    Location,
    NotConfigured,
    SpecError,
)
from .governance import check_attestation_date
from .kinds import Check, get_kind
from .kinds.base import WRITES
from .project import Environment, Project, load_project
from .report.write import evidence_details, redact_tree
from .ruleset import load_rules
from .spec import Checklist, ManualItem, load_checklist
from .stopsignals import ignoring_stops, stop_like_ctrl_c
from .stopsignals import restore as restore_signals
from .synthetic import RunCleanup, is_run_id
from .visible import visible

DEFAULT_PATTERNS = ["*.gtm.yml", "*.gtm.yaml"]
DRIFTS_SHOWN = 20  # BASELINE-DRIFT lines in a failure; report.json keeps every drift
RECHECK_DELAY = 2.0  # seconds before a recheck against a real stack: long enough for a 5xx blip to pass
FAILED_TWICE, FLAKY = "failed twice", "passed on recheck (flaky)"


class GtmSession:
    """Per-run state shared by collectors, items and the report: project, environment, run context."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.checklists: dict[str, Checklist] = {}  # display path -> checklist
        self.load_errors: dict[str, SpecError] = {}
        self._project: Project | None = None
        self._context: RunContext | None = None
        self._context_error: GtmcheckError | None = None
        self.cleanup: RunCleanup | None = None  # set by ``finish()`` at the end of the session
        self.unusable_environment = False  # set when the environment check stopped the run before any check
        self.statuses: list[str] = []  # the gtmcheck status of every check that ran, for the terminal's count
        self.read_only_skips = 0  # checks not run because they write and the run is read-only (pytest: skipped)
        self.not_selected = 0  # checks that -k/-m left out
        self.collected = 0  # checks collected so far: each item's position, to keep the report in that order
        self.stop_signals = stop_like_ctrl_c()  # SIGTERM/SIGHUP end the run as Ctrl-C does (main thread only)
        self.current: str | None = None  # the name of the check running now, for its progress lines
        self._say_lock = threading.Lock()  # lead workers may beat at once

    @property
    def project(self) -> Project:
        if self._project is None:
            project_file = self.config.getoption("gtm_project")
            start = Path(self.config.invocation_params.dir)
            self._project = load_project(start, Path(project_file) if project_file else None)
        return self._project

    def context(self) -> RunContext:
        """The run context, created on first use; an unusable environment errors every check."""
        if self._context_error is not None:
            raise CheckError(str(self._context_error))
        if self._context is None:
            try:
                env = self.project.environment(self.config.getoption("gtm_env"))
            except (ConfigError, SpecError) as exc:
                self._context_error = exc
                raise CheckError(str(exc)) from None
            self._context = self._new_context(env)
        return self._context

    def preflight(self, items: Iterable[CheckItem]) -> list[SpecError]:
        """The environment's problems for what ``items`` need (each once); when none, the run context is made."""
        from .preflight import check_environment

        needs: dict[str, list[str]] = {}
        for item in items:
            for need in sorted(item.check.needs - {WRITES}):  # without writes the run is read-only: never a stop
                needs.setdefault(need, []).append(item.nodeid)
        env, problems = check_environment(self.project, self.config.getoption("gtm_env"), needs)
        if not problems and env is not None and self._context is None:
            self._context = self._new_context(env)
        return problems

    def _new_context(self, env: Environment) -> RunContext:
        if self.config.getoption("gtm_read_only") and env.writes:  # --read-only: writes are off, whatever it says
            env = dataclasses.replace(env, writes=False)
        run_id = self.config.getoption("gtm_run_id")
        worker = str(getattr(self.config, "workerinput", {}).get("workerid", ""))  # pytest-xdist
        return RunContext(self.project, env, progress=self.say, worker=worker,
                          **({"run_id": run_id} if run_id else {}))

    def say(self, message: str) -> None:
        """A check's progress (a heartbeat during a long wait) as one terminal line, outside output capture.

        Silent on an xdist worker (no terminal) and with ``-qq``; the line names the running check.
        """
        if getattr(self.config, "workerinput", None) or self.config.get_verbosity() < -1:
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        prefix = f"gtmcheck: {self.current}: " if self.current else "gtmcheck: "
        line = visible(secrets.redact(prefix + message))
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        with self._say_lock, (capture.global_and_fixture_disabled() if capture is not None else nullcontext()):
            reporter.write_line(line)

    @property
    def run_id(self) -> str | None:
        return self._context.run_id if self._context else self.config.getoption("gtm_run_id")

    @property
    def environment_name(self) -> str | None:
        """The environment checked, also when no check needed it (the headlines name it)."""
        if self._context is not None:
            return self._context.environment.name
        name: str | None = self.config.getoption("gtm_env")
        try:
            return self.project.environment(name).name
        except GtmcheckError:  # no usable project: the checks say why
            return name

    def finish(self) -> RunCleanup | None:
        """Archive the run's synthetic records (a second Ctrl-C or SIGTERM cannot cut this short); ``None`` if none.

        The outcome is kept in ``cleanup`` for the terminal summary and the report.
        """
        if self._context is None:
            return None
        try:
            with ignoring_stops():  # SIGINT, SIGTERM, SIGHUP
                # An xdist worker archives its own records; the controller searches the shared run id at the end.
                self.cleanup = self._context.finish(search=not hasattr(self.config, "workerinput"))
        except Exception as exc:  # noqa: BLE001 - the run's verdicts stand; the leftovers are reported
            self.cleanup = RunCleanup(self._context.run_id, error=secrets.redact(f"{type(exc).__name__}: {exc}"))
        return self.cleanup

    def close(self) -> None:
        if self._context is not None:
            self._context.close()

    # hooks (the session is registered as a plugin): what the terminal's closing gtmcheck line counts

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.not_selected += sum(isinstance(item, GtmItem) for item in items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        details: dict[str, Any] | None = getattr(report, "gtm", None)
        if details is not None and report.when == "call":
            self.statuses.append(details["status"])
            self.read_only_skips += bool(details.get("read_only"))


SESSION_KEY = pytest.StashKey[GtmSession]()


def gtm_session(config: pytest.Config) -> GtmSession:
    return config.stash[SESSION_KEY]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gtmcheck", "gtmcheck checklists")
    group.addoption(
        "--gtm-env",
        dest="gtm_env",
        default=None,
        help="environment from gtmcheck.yml to check (default: $GTMCHECK_ENV, then default_environment)",
    )
    group.addoption("--gtm-project", dest="gtm_project", default=None, help="path to gtmcheck.yml")
    group.addoption(
        "--gtm-report-dir",
        dest="gtm_report_dir",
        default=None,
        help="write report.json, report.md, report.html and junit.xml into this folder",
    )
    group.addoption(
        "--gtm-traceback",
        dest="gtm_traceback",
        action="store_true",
        help="show Python tracebacks under check failures (for debugging gtmcheck itself)",
    )
    group.addoption("--gtm-require-go-live", dest="gtm_require_go_live", action="store_true", default=None,
                    help="exit 1 unless the go-live verdict is ready (as `gtmcheck run --require-go-live`)")
    group.addoption("--gtm-read-only", dest="gtm_read_only", action="store_true", default=False,
                    help="write nothing, even where the environment says `writes: true`: checks that create "
                    "synthetic records are reported not configured (pytest: skipped), the rest run (nightly runs)")
    group.addoption("--gtm-recheck", dest="gtm_recheck", action="store_true", default=False,
                    help="run a failed or errored check once more after a pause before its result stands "
                    "(no flapping in a nightly run)")
    group.addoption("--gtm-recheck-delay", dest="gtm_recheck_delay", type=float, default=None,
                    help=f"seconds to pause before a recheck (default {RECHECK_DELAY:g}; 0 on the sandbox)")
    group.addoption("--gtm-no-history", dest="gtm_no_history", action="store_true",
                    help="do not append this run to the project's history (gtmcheck.yml `history:`)")
    group.addoption("--gtm-run-id", dest="gtm_run_id", default=None, help=argparse.SUPPRESS)
    parser.addini("gtm_require_go_live", type="bool", default=False, help="as --gtm-require-go-live, for CI")
    parser.addini(
        "gtm_file_patterns",
        type="args",
        default=DEFAULT_PATTERNS,
        help="glob patterns of checklist files (default: *.gtm.yml *.gtm.yaml)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gtmcheck: every item that comes from a gtmcheck checklist")
    for kind in KINDS:
        config.addinivalue_line("markers", f"{kind}: items of gtmcheck {kind} checklists")
    load_rules()  # the run's lint-based checks read ignore comments against every known rule
    config.addinivalue_line("markers", f"{DRIFT_MARKER}: BASELINE-DRIFT, a checklist's stack against its baseline "
                            "(gtmcheck baseline save); -m 'not drift' leaves it out")
    config.addinivalue_line("markers", f"{WRITES}: checks that create synthetic records (need `writes: true`); "
                            "-m 'not writes' runs what an environment without writes can check")
    config.stash[SESSION_KEY] = GtmSession(config)
    config.pluginmanager.register(config.stash[SESSION_KEY], "gtmcheck-session")
    config.pluginmanager.register(terminal, "gtmcheck-terminal")  # ATTESTED / ERROR / NOT CONFIGURED
    from .workers import XdistBridge

    config.pluginmanager.register(XdistBridge(config.stash[SESSION_KEY]), "gtmcheck-xdist")
    from .report.collector import ReportPlugin, go_live_required

    report_dir, require_go_live = config.getoption("gtm_report_dir"), go_live_required(config)
    if (report_dir or require_go_live) and not getattr(config, "workerinput", None):

        if report_dir and not config.option.xmlpath:  # junit.xml beside the other reports unless asked elsewhere
            config.option.xmlpath = str(Path(report_dir) / "junit.xml")
        plugin = ReportPlugin(config.stash[SESSION_KEY], Path(report_dir) if report_dir else None, require_go_live,
                              history=not config.getoption("gtm_no_history"))
        config.pluginmanager.register(plugin, "gtmcheck-report")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse an unknown ``--gtm-env`` up front (a usage error); what it lacks is said after collection."""
    config = session.config
    if config.getoption("gtm_env"):
        try:
            gtm_session(config).project.environment_name(config.getoption("gtm_env"))
        except (ConfigError, SpecError) as exc:
            raise pytest.UsageError(secrets.redact(str(exc))) from None
    run_id = config.getoption("gtm_run_id")
    if run_id is not None and not is_run_id(run_id):  # cleanup would not recognise the run's records
        raise pytest.UsageError(f"--gtm-run-id {run_id!r} is not a gtmcheck run id (gtm-YYYYMMDDTHHMMSS-xxxxxx)")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Check the environment once for the checks that will run; every problem is one line, and nothing runs.

    A usage error (exit 4): no check is run and no report is written, rather than the same error on every
    check (``gtmcheck.preflight``). Any checklist item needs the environment's ``${VAR}``s; a check needs what
    it declares. ``--collect-only`` needs no environment.
    """
    config = session.config
    if config.option.collectonly or not any(isinstance(item, GtmItem) for item in session.items):
        return
    problems = gtm_session(config).preflight([item for item in session.items if isinstance(item, CheckItem)])
    if problems:
        gtm_session(config).unusable_environment = True  # no closing count either: nothing was checked
        report = config.pluginmanager.get_plugin("gtmcheck-report")
        if report is not None:  # nothing ran: a report would claim what was never checked
            config.pluginmanager.unregister(report)
        raise pytest.UsageError(*(visible(secrets.redact(p.format())) for p in problems))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every synthetic record goes, whatever the verdicts, and also after Ctrl-C; leftovers fail the run."""
    result = gtm_session(session.config).finish()
    if result is not None and not result.clean and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_itemcollected(item: pytest.Item) -> None:
    if isinstance(item, GtmItem):
        state = gtm_session(item.config)
        item.position = state.collected
        state.collected += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    state = gtm_session(terminalreporter.config)
    if state.unusable_environment:
        return
    if state.statuses or state.checklists or state.load_errors or state.not_selected:
        terminalreporter.write_line(terminal.closing_line(
            state.statuses, len(state.load_errors), state.not_selected, state.environment_name,
            read_only=state.read_only_skips))
    result = state.cleanup
    if result is not None:
        terminalreporter.write_line(f"gtmcheck cleanup: {visible(result.summary())}", red=not result.clean)


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()
        restore_signals(config.stash[SESSION_KEY].stop_signals)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ChecklistFile | None:
    patterns: list[str] = parent.config.getini("gtm_file_patterns")
    if any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        file: ChecklistFile = ChecklistFile.from_parent(parent, path=file_path)
        return file
    return None


class ChecklistFile(pytest.File):
    """One checklist: loads and validates at collection, then yields an item per check."""

    checklist: Checklist | None = None

    def collect(self) -> Iterable[pytest.Item]:
        state = gtm_session(self.config)
        try:
            checklist = load_checklist(self.path)
        except SpecError as exc:
            state.load_errors[exc.location.file if exc.location else str(self.path)] = exc
            raise
        self.checklist = checklist
        state.checklists[checklist.display] = checklist
        checks: dict[str, list[Check]] = {}
        for check in get_kind(checklist.kind).checks(checklist):
            checks.setdefault(check.dod_id, []).append(check)
        for item in checklist.dod:
            if item.id in checks:
                for check in checks[item.id]:
                    # The name is the node id pytest prints: a CSV value or URL label in it is made visible.
                    yield CheckItem.from_parent(
                        self, name=visible(check.name), checklist=checklist, dod=item, check=check
                    )
            elif item.id in checklist.manual:
                yield AttestedItem.from_parent(
                    self, name=item.id, checklist=checklist, dod=item, manual=checklist.manual[item.id]
                )
            else:
                yield UnconfiguredItem.from_parent(self, name=item.id, checklist=checklist, dod=item)
        yield from self._drift_item(checklist)

    def _drift_item(self, checklist: Checklist) -> Iterable[pytest.Item]:
        """BASELINE-DRIFT when ``gtmcheck baseline save`` wrote this checklist's baseline (outside its DoD)."""
        try:
            root = gtm_session(self.config).project.root
        except GtmcheckError:
            return  # no usable gtmcheck.yml: no baseline to compare with (the checks say why)
        if baseline_path(root, checklist).is_file():
            kind = get_kind(checklist.kind)
            item = CheckItem.from_parent(self, name=DRIFT_ID, checklist=checklist, dod=drift_item(checklist.kind),
                                         check=drift_check(checklist, kind))
            item.add_marker(DRIFT_MARKER)
            yield item

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, GtmcheckError) and not self.config.getoption("gtm_traceback"):
            return visible(secrets.redact(str(excinfo.value)), keep="\n")
        return super().repr_failure(excinfo)


class GtmItem(pytest.Item):
    """Common ground of every checklist item: markers, JUnit properties, location at the YAML line."""

    def __init__(self, *, checklist: Checklist, dod: DodItem, where: Location, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checklist = checklist
        self.dod = dod
        self.where = where  # the YAML line (or the CSV row) that configures this check
        self.status_on_pass = "passed"
        self.evidence: Evidence | None = None
        self.position = 0  # its place in the collection, set by ``pytest_itemcollected``
        self.recheck: str | None = None  # ``--gtm-recheck``: FAILED_TWICE or FLAKY when the check was rerun
        self.add_marker(checklist.kind)
        self.add_marker("gtmcheck")
        self.user_properties.append(("dod_item", dod.id))
        # junit.xml writes properties as they are
        self.user_properties.append(("owner", visible(secrets.redact(checklist.owner))))

    @property
    def line(self) -> int:
        return self.where.line

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.where.file).resolve(), self.where.line - 1, self.name

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        exc = excinfo.value
        # Every value is one visible line: a CR, ESC or U+202E from a CSV or the CRM cannot redraw the terminal.
        lines = [f"{self.dod.id}: {self.dod.text}", f"  at {visible(self.where.file)}:{self.where.line}"]
        drifts = exc.evidence.details.get("drifts") if isinstance(exc, CheckFailed) else None
        if isinstance(exc, CheckFailed) and isinstance(drifts, list) and drifts:  # BASELINE-DRIFT: one line each
            lines.append(f"  {len(drifts)} drift(s) from the baseline:")
            lines += [f"  - {visible(str(d.get('message')))} (owner {visible(str(d.get('owner')))}, "
                      f"{visible(str(d.get('since')))})" for d in drifts[:DRIFTS_SHOWN] if isinstance(d, dict)]
            if len(drifts) > DRIFTS_SHOWN:
                lines.append(f"  - and {len(drifts) - DRIFTS_SHOWN} more (report.json: the item's details)")
            lines.append(f"  expected: {visible(exc.expected or '')}")
        elif isinstance(exc, CheckFailed):
            lines.append(f"  {visible(exc.message)}")
            if exc.expected is not None:
                lines.append(f"  expected: {visible(exc.expected)}")
            if exc.received is not None:
                lines.append(f"  received: {visible(exc.received)}")
            if exc.evidence.summary:
                lines.append(f"  evidence: {visible(exc.evidence.summary)}")
        elif isinstance(exc, CheckError):
            lines.append(f"  could not be verified: {visible(exc.message)}")
        elif isinstance(exc, NotConfigured):
            lines.append(f"  not configured: {visible(str(exc))}")
        else:
            lines.append(f"  internal error: {type(exc).__name__}: {visible(str(exc))}")
            if not self.config.getoption("gtm_traceback"):
                lines.append("  (a bug in gtmcheck; rerun with --gtm-traceback and report it)")
        text = secrets.redact("\n".join(lines))
        if self.config.getoption("gtm_traceback"):
            return f"{text}\n\n{visible(secrets.redact(str(super().repr_failure(excinfo))), keep=chr(10))}"
        return text


class CheckItem(GtmItem):
    """An automated check: runs against the environment through the run context.

    In a read-only run (``--gtm-read-only``, or an environment without ``writes: true``) a check that needs
    ``WRITES`` is not run: pytest skips it and gtmcheck reports it ``not_configured``, saying what the nightly
    run checks instead, so a nightly job passes on what it can read.
    """

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(where=check.location, **kwargs)
        self.check = check
        self.read_only = False  # set when a read-only run leaves it out (it needs writes)
        if WRITES in check.needs:
            self.add_marker(WRITES)

    def runtest(self) -> None:
        state = gtm_session(self.config)
        context = state.context()
        if WRITES in self.check.needs and not context.environment.writes:
            self.read_only = True  # not run, and not a failure: a read-only run passes on what it can read
            instead = self.check.instead or "what it can read instead (the checks that write nothing)"
            raise pytest.skip.Exception(f"read-only environment `{context.environment.name}`: this check creates "
                                        f"synthetic records; the nightly run checks {instead}",
                                        _use_item_location=True)  # the YAML line, not this one
        state.current = self.name
        try:
            try:
                self.evidence = self._run_once(context)
            except (CheckFailed, CheckError) as first:
                if not self.config.getoption("gtm_recheck") or context.cancelled.is_set():
                    raise
                self._recheck(context, first)
        finally:
            state.current = None

    def _run_once(self, context: RunContext) -> Evidence:
        try:
            return self.check.run(context)
        except ConnectorError as exc:  # the CRM or warehouse did not answer as needed: not verified, not a bug
            raise CheckError(str(exc)) from exc

    def _recheck(self, context: RunContext, first: CheckFailed | CheckError) -> None:
        """``--gtm-recheck``: one more run after a pause; its result stands, and the report says which it was.

        Only a verdict is rechecked: an interrupt (KeyboardInterrupt, a stop signal) or a bug goes up at once.
        """
        delay = self.config.getoption("gtm_recheck_delay")
        if delay is None:
            delay = 0.0 if context.environment.is_sandbox else RECHECK_DELAY
        context.progress(f"{status_word(first)}; rechecking in {delay:g}s")
        if delay > 0:
            context.sleep(delay)
        try:
            evidence = self._run_once(context)
        except (CheckFailed, CheckError) as second:
            self.recheck = FAILED_TWICE
            raise second from None
        self.recheck = FLAKY
        first_time = secrets.redact(getattr(first, "message", "") or str(first))
        note = f"{FLAKY}; first attempt {status_word(first)}: {first_time}"
        self.evidence = Evidence(f"{note}. {evidence.summary}" if evidence.summary else note, evidence.details)


class AttestedItem(GtmItem):
    """A DoD item verified by a person: passes as ``attested`` when evidence and attester are named."""

    def __init__(self, *, manual: ManualItem, **kwargs: Any) -> None:
        checklist: Checklist = kwargs["checklist"]
        super().__init__(where=checklist.location(("manual", manual.index)), **kwargs)
        self.manual = manual
        self.status_on_pass = "attested"

    def runtest(self) -> None:
        missing = [k for k in ("evidence", "attested_by") if not getattr(self.manual, k)]
        if missing:
            raise NotConfigured(
                f"the attestation has no {' or '.join(missing)}; add them under `manual:` (id {self.manual.id})"
            )
        # a future date is an error at its line; a stale (or, where ages apply, undated) attestation is not done
        check_attestation_date(self.checklist, self.manual, gtm_session(self.config).project.governance.max_age)
        when = f" on {self.manual.on}" if self.manual.on else ""
        self.evidence = Evidence(f"attested by {self.manual.attested_by}{when}: {self.manual.evidence}")



class UnconfiguredItem(GtmItem):
    """A DoD item the checklist neither verifies nor attests: reported, and counted as not done."""

    def __init__(self, **kwargs: Any) -> None:
        checklist: Checklist = kwargs["checklist"]
        super().__init__(where=checklist.location(("kind",)), **kwargs)

    def runtest(self) -> None:
        raise NotConfigured(
            "this checklist neither verifies nor attests it; configure its check or add "
            f"`manual: [{{id: {self.dod.id}, evidence: ..., attested_by: ...}}]`"
        )


def status_word(exc: BaseException) -> str:
    return "failed" if isinstance(exc, CheckFailed) else "could not be verified"


def status_of(item: GtmItem, excinfo: ExceptionInfo[BaseException] | None) -> str:
    if excinfo is None:
        return item.status_on_pass
    exc = excinfo.value
    if isinstance(exc, CheckFailed):
        return "failed"
    if isinstance(exc, NotConfigured) or isinstance(item, CheckItem) and item.read_only:
        return "not_configured"
    return "error"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, GtmItem) and report.when == "call":
        status = status_of(item, call.excinfo)
        exc = call.excinfo.value if call.excinfo else None
        evidence = item.evidence or getattr(exc, "evidence", None)
        message = getattr(exc, "message", None) or getattr(exc, "msg", None) or (str(exc) if exc else "")
        details: dict[str, Any] = {
            # what the report needs of the item, so the report reads results and never the plugin's items
            "checklist": item.checklist.display,
            # the node name shows hidden characters as escapes; report.json keeps the check's exact name
            "id": item.check.name if isinstance(item, CheckItem) else item.name,
            "dod": item.dod.id,
            "text": item.dod.text,
            "line": item.line,
            "location": str(item.where),
            "status": status,
            "message": secrets.redact(message),
            "evidence": secrets.redact(evidence.summary) if evidence else "",
            "position": item.position,  # collection order: the report keeps it under xdist too
        }
        if isinstance(item, CheckItem) and item.read_only:
            details["read_only"] = True  # not run: it writes, and the run is read-only (pytest: skipped)
        if item.recheck:
            details["recheck"] = item.recheck
        kept = evidence_details(evidence.details) if evidence else None
        if kept:  # what the check recorded (the records that differ, the samples that fail...), bounded
            details["details"] = kept
        graph = evidence.details.get("routing_graph") if evidence else None
        if isinstance(graph, dict):  # the routing picture: rules and where the leads went (report/graph.py)
            details["graph"] = redact_tree(graph)
        if isinstance(exc, CheckFailed):
            details["expected"] = secrets.redact(exc.expected or "")
            details["received"] = secrets.redact(exc.received or "")
        report.gtm = details  # type: ignore[attr-defined]
        item.user_properties.append(("gtm_status", status))
        report.user_properties = list(item.user_properties)
    return report
