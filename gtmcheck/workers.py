"""pytest-xdist: what each worker tells the controller, so ``pytest -n 2`` reports and cleans up as a serial run.

Under xdist the workers collect and run the checks; the controller only receives their test reports. So:

- the controller makes one run id and hands it to every worker (``workerinput``): one run, one tag;
- each worker archives the synthetic records *it* created, once, at its session end, without searching the
  tag (a search would find, and archive, records another worker is still using);
- each worker sends the controller (``workeroutput``) the checklists it loaded, the files it could not load,
  how many checks -k/-m left out, and what its cleanup archived;
- when every worker is done, the controller searches the run's tag once (a record whose create answer was
  lost is found there) and the report and the terminal count what a serial run counts.

Without xdist none of these hooks is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import secrets
from .errors import GtmcheckError, Location, SpecError
from .spec import load_checklist
from .stopsignals import ignoring_stops
from .synthetic import OBJECT_TYPES, RunCleanup, SyntheticLedger, finish_run

if TYPE_CHECKING:
    from .connectors.crm import ObjectType
    from .plugin import GtmSession

KEY = "gtmcheck"


class XdistBridge:
    """Registered by the gtmcheck plugin in every process; only xdist calls its hooks."""

    def __init__(self, state: GtmSession) -> None:
        self.state = state
        given = getattr(state.config, "workerinput", {}).get("gtm_run_id")
        if given and not state.config.getoption("gtm_run_id"):  # a worker: the controller's run id
            state.config.option.gtm_run_id = given
        self.nodes = 0  # workers seen by the controller
        self.worker_cleanups: list[dict[str, Any]] = []
        self.lost_workers: list[str] = []  # went down without saying what they created

    # --- controller -------------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Every worker gets the controller's run id (made once, here, unless ``--gtm-run-id`` gave one)."""
        from .context import new_run_id

        config = self.state.config
        if not config.getoption("gtm_run_id"):
            config.option.gtm_run_id = new_run_id()
        node.workerinput["gtm_run_id"] = config.getoption("gtm_run_id")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Take in what a finished worker loaded, left out and cleaned up."""
        self.nodes += 1
        out: dict[str, Any] | None = getattr(node, "workeroutput", {}).get(KEY)
        if out is None:
            self.lost_workers.append(str(getattr(node, "gateway", node)))
            return
        state = self.state
        for path in out["checklists"]:
            if path not in {str(c.path) for c in state.checklists.values()}:
                try:
                    checklist = load_checklist(Path(path))
                except SpecError as exc:  # changed since the worker read it: report it as it is now
                    state.load_errors[exc.location.file if exc.location else path] = exc
                else:
                    state.checklists.setdefault(checklist.display, checklist)
        for file, err in out["load_errors"].items():
            where = Location(*err["location"]) if err["location"] else None
            state.load_errors.setdefault(file, SpecError(err["message"], where, err["hint"]))
        state.not_selected = max(state.not_selected, out["not_selected"])  # each worker collects every check
        if out["cleanup"] is not None:
            self.worker_cleanups.append(out["cleanup"])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """On the controller, before the report is written: the run's one final search of its tag."""
        if not hasattr(session.config, "workerinput") and (self.nodes or self.lost_workers):
            result = self._final_cleanup()
            if result is not None:
                self.state.cleanup = result
                if not result.clean and session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _final_cleanup(self) -> RunCleanup | None:
        """The workers archived their own records; one search of the run's tag now finds anything left."""
        run_id = self.state.run_id
        used: list[ObjectType] = [t for c in self.worker_cleanups for t in c["types"]]
        if run_id is None or not (used or self.lost_workers):
            return None
        result = RunCleanup(run_id, archived=sum(c["archived"] for c in self.worker_cleanups))
        errors = [c["error"] for c in self.worker_cleanups if c["error"]]
        try:
            env = self.state.project.environment(self.state.config.getoption("gtm_env"))
            if env.writes:  # no writes, no synthetic records to look for
                from .connectors import crm_for, search_lag_for

                ledger = SyntheticLedger()
                for object_type in dict.fromkeys(used or OBJECT_TYPES):
                    ledger.touch(object_type, 0.0)
                crm = crm_for(env)
                try:
                    with ignoring_stops():
                        found = finish_run(crm, ledger, run_id, search_lag_s=search_lag_for(env))
                finally:
                    crm.close()
                result.archived += found.archived
                result.found_by_search = found.found_by_search
                result.remaining = found.remaining
                errors += [found.error] if found.error else []
        except (GtmcheckError, OSError) as exc:
            errors.append(secrets.redact(f"{type(exc).__name__}: {exc}"))
        result.error = "; ".join(errors) or None
        return result

    # --- worker (pytest reads only methods named pytest_*; ``specname`` says which hook this is) ---------

    @pytest.hookimpl(trylast=True, specname="pytest_sessionfinish")
    def pytest_sessionfinish_on_worker(self, session: pytest.Session) -> None:
        """On a worker, after the gtmcheck plugin's own session finish (its cleanup): tell the controller."""
        config = session.config
        if not hasattr(config, "workeroutput"):
            return
        state = self.state
        cleanup = state.cleanup
        context = state._context  # the object types its ledger wrote to: where the final search looks
        config.workeroutput[KEY] = {
            "checklists": [str(c.path) for c in state.checklists.values()],
            "load_errors": {
                file: {
                    "message": err.message,
                    "hint": err.hint,
                    "location": [err.location.file, err.location.line, err.location.column] if err.location else None,
                }
                for file, err in state.load_errors.items()
            },
            "not_selected": state.not_selected,
            "cleanup": None if cleanup is None else {
                "archived": cleanup.archived,
                "types": list(context.ledger.types) if context is not None else [],
                "error": cleanup.error,
            },
        }
