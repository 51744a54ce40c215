"""The environment, checked once before any check runs: each problem once, at its line in ``gtmcheck.yml``.

Without this, a mistyped scenario path or a missing ``${TOKEN}`` made every check of the run fail with the
same error. What is checked follows the checks that will run: each declares what it ``needs``
(``kinds.base.NEEDS``), so a UTM-only run never asks for a CRM token. Writes are never asked for: an environment
without ``writes: true`` is read-only, and the plugin reports each check that would write as not run there
(the nightly run of production). Every check needs the environment itself: its ``${VAR}``s set (all of them
reported, not the first).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import envvars
from .errors import ConfigError, EnvVarError, GtmcheckError, Location, SpecError
from .kinds.base import CRM, WAREHOUSE, WEB
from .project import PROJECT_FILE, Environment, Project
from .yamlfile import JsonPath, walk_strings

SHOWN_CHECKS = 3


def check_environment(
    project: Project, name: str | None, needs: Mapping[str, Sequence[str]]
) -> tuple[Environment | None, list[SpecError]]:
    """The environment the run means, and every problem that stops the checks needing ``needs`` from running.

    ``needs`` maps a need (``crm``, ``writes``, ...) to the names of the checks that have it, for the message.
    """
    try:
        resolved = project.environment_name(name)
    except ConfigError as exc:
        return None, [SpecError(str(exc), None, "choose an environment gtmcheck.yml defines (--env)")]
    if project.doc is None:
        env = project.environment(resolved)
        return env, _Preflight(project, env, set(), needs).problems()
    raw, problems = _expand(project, resolved)
    env = project.make_environment(resolved, raw)
    failed = {path for path, _ in problems}
    return env, [p for _, p in problems] + _Preflight(project, env, failed, needs).problems()


def _expand(project: Project, name: str) -> tuple[dict[str, Any], list[tuple[JsonPath, SpecError]]]:
    """The environment's block with every ``${VAR}`` expanded that can be; each one that cannot, at its line."""
    assert project.doc is not None
    base: JsonPath = ("environments", name)
    raw = copy.deepcopy(project.doc.get(base)) or {}
    problems: list[tuple[JsonPath, SpecError]] = []
    for sub, _ in list(walk_strings(raw)):
        parent = raw
        for part in sub[:-1]:
            parent = parent[part]
        try:
            parent[sub[-1]] = envvars.expanded(project.doc, (*base, *sub))
        except EnvVarError as exc:
            parent[sub[-1]] = None  # unknown: the checks below leave it alone
            problems.append((sub, exc))
    return raw, problems


def describe(checks: Sequence[str]) -> str:
    """``3 checks in checks/routing.gtm.yml (a, b and c)``, from pytest node ids (``file::name``)."""
    files = list(dict.fromkeys(c.partition("::")[0] for c in checks))
    names = [c.partition("::")[2] or c for c in checks]
    shown = names[:SHOWN_CHECKS]
    rest = len(names) - len(shown)
    listed = f"{', '.join(shown)} and {rest} more" if rest else \
        (f"{', '.join(shown[:-1])} and {shown[-1]}" if len(shown) > 1 else shown[0])
    count = f"{len(checks)} check{'s' if len(checks) != 1 else ''}"
    return f"{count} in {', '.join(files)} ({listed})"


class _Preflight:
    """The checks of one expanded environment against what the run's checks need."""

    def __init__(self, project: Project, env: Environment, failed: set[JsonPath],
                 needs: Mapping[str, Sequence[str]]) -> None:
        self.project = project
        self.env = env
        self.failed = failed  # paths in the environment block whose ``${VAR}`` could not be expanded
        self.needs = needs
        self.found: list[SpecError] = []
        self.seen: dict[JsonPath, bool] = {}  # scenario files already looked at

    def problems(self) -> list[SpecError]:
        if WEB in self.needs:
            self.web()
        if CRM in self.needs:
            self.crm()
        if WAREHOUSE in self.needs:
            self.warehouse()
        return self.found

    # --- where and what ------------------------------------------------------------------------------------

    def at(self, *path: str, key: bool = False) -> Location | None:
        """The line of ``environments.<name>.<path>`` in gtmcheck.yml (``None`` without a project file)."""
        doc = self.project.doc
        return doc.location(("environments", self.env.name, *path), key=key) if doc is not None else None

    def problem(self, message: str, where: Location | None, hint: str) -> None:
        self.found.append(SpecError(message, where, hint))

    @property
    def block(self) -> str:
        return f"environments.{self.env.name}"

    def who(self, need: str, verb: str) -> str:
        """``3 checks in checks/routing.gtm.yml (a, b and c) need``; ``verb`` is the plural form."""
        checks = list(self.needs[need])
        return f"{describe(checks)} {verb if len(checks) != 1 else verb + 's'}"

    # --- the needs ---------------------------------------------------------------------------------------

    def scenario(self, path: tuple[str, str], what: str) -> bool:
        """The scenario file at ``path`` (``("crm", "scenario")``) exists; said once if it does not."""
        if path in self.failed:
            return True
        if path not in self.seen:
            self.seen[path] = self._scenario_exists(path, what)
        return self.seen[path]

    def _scenario_exists(self, path: tuple[str, str], what: str) -> bool:
        written = str((self.env.crm if path[0] == "crm" else self.env.web or {}).get(path[1]))
        target = self.env.path(written)
        if target.is_file():
            return True
        self.problem(f"{what} {written} does not exist", self.at(*path),
                     f"fix the path (relative to the folder of {PROJECT_FILE}){_close_file(target, written)}")
        return False

    def web(self) -> None:
        web = self.env.web or {}
        if web.get("type") == "sandbox" and web.get("site"):
            self.scenario(("web", "site"), "the sandbox site scenario")
        elif web.get("type") != "live" and self.env.is_sandbox and self.env.crm.get("scenario"):
            self.scenario(("crm", "scenario"), "the sandbox scenario")

    def crm(self) -> None:
        crm = self.env.crm
        if not crm:
            if ("crm",) in self.failed:
                return
            if self.project.doc is None:
                self.problem(f"there is no {PROJECT_FILE}, so there is no CRM, and {self.who(CRM, 'need')} one", None,
                             f"create {PROJECT_FILE} with an environment that has `crm:` (see README)")
                return
            self.problem(f"environment {self.env.name!r} has no `crm:`, and {self.who(CRM, 'need')} one",
                         self.at(key=True), f"add `crm: {{type: hubspot, token: \"${{HUBSPOT_TOKEN}}\"}}` (or "
                         f"salesforce, or sandbox with a scenario) under {self.block}")
            return
        kind = crm.get("type")
        if kind in ("hubspot", "salesforce") and not crm.get("token") and ("crm", "token") not in self.failed:
            variable = "${HUBSPOT_TOKEN}" if kind == "hubspot" else "${SALESFORCE_TOKEN}"
            where = self.at("crm", "token") if "token" in crm else self.at("crm", key=True)
            self.problem(f"a {kind} CRM needs an API token", where,
                         f"add `token: \"{variable}\"` under {self.block}.crm and export the variable")
            return
        if kind == "salesforce" and not crm.get("instance_url") and ("crm", "instance_url") not in self.failed:
            self.problem("a salesforce CRM needs `instance_url:`", self.at("crm", key=True),
                         f"add `instance_url: https://acme.my.salesforce.com` (your org's) under {self.block}.crm")
            return
        if kind == "sandbox" and crm.get("scenario") is not None and \
                not self.scenario(("crm", "scenario"), "the sandbox scenario"):
            return
        if any(path[0] == "crm" for path in self.failed):
            return
        self.connect()

    def connect(self) -> None:
        """Build the CRM connector as the run will (no request is sent): whatever it refuses is said here."""
        from .connectors import crm_for

        try:
            crm_for(self.env).close()
        except SpecError as exc:  # a scenario file that cannot be used: at its own line
            self.found.append(exc)
        except (ConfigError, GtmcheckError) as exc:
            self.problem(str(exc), self.at("crm", key=True), f"fix `crm:` under {self.block}")

    def warehouse(self) -> None:
        if ("warehouse",) in self.failed or ("warehouse", "url") in self.failed:
            return
        url = (self.env.warehouse or {}).get("url")
        if not url and self.env.warehouse is None and self.env.is_sandbox:
            return  # its scenario's demo warehouse (``connectors.demo_warehouse.sandbox_warehouse``)
        if not url:
            self.problem(f"environment {self.env.name!r} has no warehouse, and {self.who(WAREHOUSE, 'need')} one",
                         self.at(key=True), f"add `warehouse: {{url: \"${{WAREHOUSE_URL}}\"}}` (any SQLAlchemy "
                         f"URL) under {self.block}")
            return
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(str(url))
        except (ArgumentError, ValueError):
            self.problem("the warehouse url is not a SQLAlchemy URL", self.at("warehouse", "url"),
                         "write it as dialect+driver://user:password@host/database, such as "
                         "postgresql+psycopg://gtm@db.acme.example/gtm or duckdb:///warehouse.duckdb")



def _close_file(target: Path, written: str) -> str:
    """``; did you mean gtmcheck/demo/healthy.yml?`` when a file beside the missing one is spelled alike."""
    folder = target.parent
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    except OSError:
        return ""
    close = difflib.get_close_matches(target.name, names, n=1, cutoff=0.75)
    return f"; did you mean {Path(written).parent / close[0]}?" if close else ""
