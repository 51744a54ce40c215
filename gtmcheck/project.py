"""The project file ``gtmcheck.yml``: environments, the default one, where checklists live.

Environments are expanded lazily: ``${HUBSPOT_TOKEN}`` in ``production`` is only needed when production
is the environment being run, so a sandbox run works on a machine that has no tokens at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import envvars, secrets, yamlfile
from .errors import ConfigError, Location, SpecError
from .history.settings import HistorySettings
from .lintconfig import LintConfig
from .ruleset import rules_section_schema
from .schema import project_schema, validate
from .spec import is_checklist
from .staleness import GovernancePolicy
from .yamlfile import Document, walk_strings

PROJECT_FILE = "gtmcheck.yml"
CRM_TYPES = ("sandbox", "hubspot", "salesforce")
ENV_VAR = "GTMCHECK_ENV"


@dataclass(frozen=True)
class Environment:
    """One place the stack runs: which CRM, which warehouse, how the web is reached, may we write."""

    name: str
    root: Path
    crm: dict[str, Any] = field(default_factory=dict)
    warehouse: dict[str, Any] | None = None
    web: dict[str, Any] | None = None
    writes: bool = False

    @property
    def is_sandbox(self) -> bool:
        return self.crm.get("type") == "sandbox"

    def path(self, relative: str) -> Path:
        """A path named in the project file, relative to the project root."""
        return (self.root / relative).resolve()

    def sandbox_scenario(self) -> Path | None:
        """The sandbox CRM's scenario file: the one named, else the bundled demo's; ``None`` for a real CRM."""
        if not self.is_sandbox:
            return None
        if self.crm.get("scenario"):
            return self.path(str(self.crm["scenario"]))
        from .bundled import demo_scenario

        return demo_scenario()

    def site_scenario(self) -> Path | None:
        """The scenario whose ``site:`` serves campaign URLs, when the web is the sandbox's."""
        web = self.web or {}
        if web.get("type") == "live":
            return None
        if web.get("type") == "sandbox":
            site = web.get("site") or self.crm.get("scenario")
            return self.path(site) if site else self.sandbox_scenario()
        return self.sandbox_scenario()


@dataclass
class Project:
    """A loaded ``gtmcheck.yml`` (or the defaults when there is none)."""

    root: Path
    doc: Document | None
    default_environment: str | None
    check_paths: list[str]
    lint: LintConfig = field(default_factory=LintConfig)  # ``lint:``: rules' severities, rules turned off
    governance: GovernancePolicy = field(default_factory=GovernancePolicy)  # ``governance:``: require, max_age
    history: HistorySettings = field(default_factory=HistorySettings)  # ``history:``: where runs are kept, or off

    @property
    def environment_names(self) -> list[str]:
        if self.doc is None:
            return []
        return list(self.doc.data["environments"])

    def environment_name(self, name: str | None = None) -> str:
        """Which environment a run means (else ``$GTMCHECK_ENV``, else the default); nothing is expanded."""
        name = name or os.environ.get(ENV_VAR) or self.default_environment
        if self.doc is None:
            if name not in (None, "live"):
                raise ConfigError(
                    f"environment {name!r} requested but there is no {PROJECT_FILE} in {self.root} or above"
                    f"; create one with `gtmcheck init` or drop --env"
                )
            return "live"
        envs = self.doc.data["environments"]
        if name is None:
            name = next(iter(envs))
        if name not in envs:
            raise ConfigError(
                f"unknown environment {name!r}; {PROJECT_FILE} defines: {', '.join(envs)}"
            )
        return name

    def environment(self, name: str | None = None) -> Environment:
        """The named environment (else ``$GTMCHECK_ENV``, else the default), with ``${ENV}`` expanded."""
        name = self.environment_name(name)
        if self.doc is None:
            return Environment(name="live", root=self.root, web={"type": "live"})
        raw = envvars.expanded(self.doc, ("environments", name))  # the doc stays as written
        return self.make_environment(name, raw)

    def make_environment(self, name: str, raw: dict[str, Any]) -> Environment:
        """An ``Environment`` from its expanded block; every secret in it is registered for redaction first."""
        for path, value in walk_strings(raw):
            if path and isinstance(path[-1], str) and secrets.SECRET_KEYS.search(path[-1]):
                secrets.register(value)
            if "://" in value:
                secrets.register_url_passwords(value)  # a base_url as written is no secret; its password is
        return Environment(
            name=name,
            root=self.root,
            crm=dict(raw.get("crm") or {}),
            warehouse=raw.get("warehouse"),
            web=raw.get("web"),
            writes=bool(raw.get("writes", False)),
        )

    def checklist_files(self, paths: list[Path] | None = None) -> Iterator[Path]:
        """Checklist files under ``paths`` (default: the project's ``checks``), sorted."""
        roots = paths or [self.root / p for p in self.check_paths]
        for root in roots:
            if root.is_file():
                yield root
            elif root.is_dir():
                yield from sorted(p for p in root.rglob("*") if p.is_file() and is_checklist(p))
            else:
                raise SpecError("no such file or folder", Location(str(root)), "check the path")


def find_project_file(start: Path) -> Path | None:
    """``gtmcheck.yml`` in ``start`` or the nearest folder above it."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


@cache
def _load_project_file(path: Path) -> Project:
    doc = yamlfile.load(path)
    validate(doc, project_schema(CRM_TYPES, rules_section_schema()))
    data = doc.data
    default = data.get("default_environment")
    if default is not None and default not in data["environments"]:
        raise SpecError(
            f"default_environment {default!r} is not defined",
            doc.location(("default_environment",)),
            f"use one of: {', '.join(data['environments'])}",
        )
    return Project(
        root=path.parent.resolve(),
        doc=doc,
        default_environment=default,
        check_paths=list(data.get("checks", ["checks"])),
        lint=LintConfig.from_section(data.get("lint")),
        governance=GovernancePolicy.from_section(data.get("governance")),
        history=HistorySettings.from_section(data.get("history")),
    )


def load_project(start: Path | None = None, project_file: Path | None = None) -> Project:
    """Find and load the project for ``start`` (default: the working directory)."""
    path = project_file or find_project_file(start or Path.cwd())
    if path is None:
        root = (start or Path.cwd()).resolve()
        return Project(root=root if root.is_dir() else root.parent, doc=None, default_environment=None,
                       check_paths=["checks"])
    if not os.path.lexists(path):  # anything else (a folder, a FIFO, a loop) is refused by the reader
        raise SpecError(
            "project file not found", Location(str(path)), f"create {PROJECT_FILE} or fix the path"
        )
    try:
        path = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the reader says so
        pass
    return _load_project_file(path)
