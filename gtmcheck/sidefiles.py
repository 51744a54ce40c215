"""Files a checklist names (``url_files:``, routing list files): read relative to the checklist, safely.

Kept apart from ``spec`` so that kinds can read their side files without importing the checklist loader,
which imports the kinds: the layers point one way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Location, SpecError, UnreadableFile, relpath
from .safefile import read_text_capped

if TYPE_CHECKING:
    from .spec import Checklist


def read_relative_file(
    checklist: Checklist, relative: str, where: Location, *, what: str, expect: str, max_bytes: int
) -> tuple[Path, str]:
    """Read a file a checklist names (relative to the checklist) as UTF-8 text.

    Every way the file can be unusable (missing, a folder, a FIFO or device, a symlink loop, too big, not
    UTF-8, unreadable) becomes a SpecError at ``where``, the YAML line that names it. ``what`` names the
    file in messages ("URL file"), ``expect`` says what to name instead of a folder ("a .csv file").
    """
    base = checklist.path.parent
    path = base / relative
    try:
        text = read_text_capped(path, max_bytes, expect=expect)
    except UnreadableFile as exc:
        if exc.problem.startswith("does not exist"):
            raise SpecError(
                f"{what} {relative!r} not found (looked in {relpath(path)})",
                where,
                "paths are relative to the checklist file; fix the path or create the file",
            ) from None
        raise SpecError(f"{what} {relative!r} {exc.problem}", where, exc.hint) from None
    try:
        path = path.resolve()
    except (OSError, RuntimeError):  # read, so it resolves; kept as named if the link changed meanwhile
        pass
    return path, text
