"""gtmcheck: definition-of-done checklists for GTM infrastructure, compiled into pytest checks.

The public API is what this module exports; everything else is private and may change.

PYTEST_DONT_REWRITE: an installed gtmcheck is a pytest11 plugin that ``gtmcheck run`` has imported before
pytest starts; its code relies on no assertion rewriting, and pytest would otherwise warn on every run.
"""

from . import secrets
from .about import __version__
from .context import RunContext
from .dod import TEMPLATES, DodItem, WorkType
from .errors import (
    CheckError,
    CheckFailed,
    ConfigError,
    EnvVarError,
    Evidence,
    GtmcheckError,
    Location,
    NotConfigured,
    SpecError,
    SpecErrors,
)
from .findings import Finding, Rule, Severity
from .kinds import Check, Kind, get_kind
from .linter import LintResult, lint_paths
from .project import Environment, Project, load_project
from .spec import Checklist, load_checklist

secrets.install_log_redaction()  # every log record of every logger (httpx, httpcore.http11, ...) is redacted

__all__ = [
    "Check",
    "CheckError",
    "CheckFailed",
    "Checklist",
    "ConfigError",
    "DodItem",
    "EnvVarError",
    "Environment",
    "Evidence",
    "Finding",
    "GtmcheckError",
    "Kind",
    "LintResult",
    "Location",
    "NotConfigured",
    "Project",
    "Rule",
    "RunContext",
    "Severity",
    "SpecError",
    "SpecErrors",
    "TEMPLATES",
    "WorkType",
    "get_kind",
    "lint_paths",
    "load_checklist",
    "load_project",
    "__version__",
]
