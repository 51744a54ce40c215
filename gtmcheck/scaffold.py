"""``gtmcheck init``: a first hour in the user's own repository.

Writes ``gtmcheck.yml`` (a sandbox and a production environment), one commented example checklist per kind
and two GitHub workflows (the go-live gate and the nightly drift run) that install gtmcheck itself, not the
user's repository. The examples lint clean and pass on the bundled sandbox, so ``gtmcheck lint`` and
``gtmcheck run`` succeed right away and every key has a comment saying how to adapt it.

Nothing existing is ever overwritten: when any target is already there, nothing at all is written (a
half-scaffolded repository is worse than none), and each file is created with ``O_EXCL`` so a file (or a
symlink) that appears meanwhile is not written through either.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .about import __version__
from .errors import GtmcheckError

__all__ = ["SCAFFOLD", "ScaffoldExists", "scaffold"]

VERSION_MARK = "__GTMCHECK_VERSION__"

# template (under gtmcheck/templates) -> where it goes in the user's repository
SCAFFOLD: tuple[tuple[str, str], ...] = (
    ("gtmcheck.yml", "gtmcheck.yml"),
    ("checks/crm.gtm.yml", "checks/crm.gtm.yml"),
    ("checks/utm.gtm.yml", "checks/utm.gtm.yml"),
    ("checks/routing.gtm.yml", "checks/routing.gtm.yml"),
    ("checks/attribution.gtm.yml", "checks/attribution.gtm.yml"),
    ("checks/webhooks.gtm.yml", "checks/webhooks.gtm.yml"),
    ("checks/reconcile.gtm.yml", "checks/reconcile.gtm.yml"),
    ("workflows/gtm-golive.yml", ".github/workflows/gtm-golive.yml"),
    ("workflows/gtm-nightly.yml", ".github/workflows/gtm-nightly.yml"),
)


class ScaffoldExists(GtmcheckError):
    """``gtmcheck init`` would overwrite these files; nothing was written."""

    def __init__(self, existing: list[Path]) -> None:
        self.existing = existing
        names = ", ".join(str(p) for p in existing)
        super().__init__(f"not overwriting {names}. Fix: move {'it' if len(existing) == 1 else 'them'} away, "
                         f"or run `gtmcheck init` in another folder")


def template_text(name: str) -> str:
    """A template's text, with the running gtmcheck's version filled in (what the workflows pin)."""
    text = resources.files("gtmcheck").joinpath("templates", *name.split("/")).read_text(encoding="utf-8")
    return text.replace(VERSION_MARK, __version__)


def scaffold(folder: Path) -> list[Path]:
    """Write the starter files into ``folder`` (created if needed); return them, in writing order."""
    targets = [(src, folder / dest) for src, dest in SCAFFOLD]
    existing = [dest for _, dest in targets if os.path.lexists(dest)]
    if existing:
        raise ScaffoldExists(existing)
    texts = [(dest, template_text(src)) for src, dest in targets]  # all read before anything is written
    written: list[Path] = []
    for dest, text in texts:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder should be, no permission
            raise GtmcheckError(f"cannot write {dest}: {exc.strerror or exc}. Fix: choose a folder you can "
                                f"write to") from None
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        except FileExistsError:
            raise ScaffoldExists([dest]) from None
        except OSError as exc:
            raise GtmcheckError(f"cannot write {dest}: {exc.strerror or exc}. Fix: choose a folder you can "
                                f"write to") from None
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        written.append(dest)
    return written
