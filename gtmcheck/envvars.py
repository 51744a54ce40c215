"""``${VAR}`` expansion in checklists and the project file.

``${VAR}`` takes the variable, ``${VAR:-default}`` falls back to a default when it is unset or empty,
``$${`` writes a literal ``${``. A missing variable is an error at the line that uses it; its value is never
echoed, and every expanded value is registered as a secret so that no report or log can show it.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from typing import Any

from . import secrets
from .errors import EnvVarError
from .yamlfile import Document, JsonPath, walk_strings

_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?")


def expand_string(text: str, env: Mapping[str, str], where: Any = None) -> str:
    """Expand references in one string; ``where(reference)`` gives the location of a bad reference."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        if name is None:
            raise EnvVarError(
                f"malformed variable reference {m.group(0)!r}",
                where(m.group(0)) if where else None,
                "write ${NAME} with letters, digits and underscores, or $${ for a literal ${",
            )
        value = env.get(name)
        if value:
            secrets.register(value)
            return value
        if default is not None:  # as in the shell, ``:-`` also replaces a variable that is set but empty
            return default
        if value is not None:  # CI systems expand a missing secret to "": never let that pass silently
            raise EnvVarError(
                f"environment variable {name} is set but empty",
                where(m.group(0)) if where else None,
                f"give {name} a value (a CI secret that is not defined expands to an empty string), "
                f"or write ${{{name}:-}} where empty is meant",
            )
        raise EnvVarError(
            f"environment variable {name} is not set",
            where(m.group(0)) if where else None,
            f"export {name}=... before running, or choose an environment that does not need it (--env)",
        )

    if "$" not in text:
        return text
    return _REF.sub(sub, text)


def expanded(doc: Document, path: JsonPath = (), env: Mapping[str, str] | None = None) -> Any:
    """A copy of the data under ``path`` with every string expanded; ``doc`` itself is left as written.

    Expanding the source again (a second ``Project.environment()`` call) must not expand a value's
    own ``${`` (from ``$${`` or from a variable's value) a second time.
    """
    environ = os.environ if env is None else env
    root = copy.deepcopy(doc.get(path))
    if isinstance(root, str):
        return _expand_one(doc, path, root, environ)
    for sub_path, value in list(walk_strings(root)):
        if "$" not in value:
            continue
        parent = root
        for part in sub_path[:-1]:
            parent = parent[part]
        parent[sub_path[-1]] = _expand_one(doc, (*path, *sub_path), value, environ)
    return root


def _expand_one(doc: Document, path: JsonPath, value: str, environ: Mapping[str, str]) -> str:
    new = expand_string(value, environ, lambda reference: doc.find(path, reference))
    if path and isinstance(path[-1], str) and secrets.SECRET_KEYS.search(path[-1]):
        secrets.register(new)
    return new


def expand(doc: Document, path: JsonPath = (), env: Mapping[str, str] | None = None) -> Any:
    """Expand every string under ``path`` in place in ``doc.data`` (once, right after loading); return it."""
    new = expanded(doc, path, env)
    if not path:
        doc.data = new
    else:
        doc.get(path[:-1])[path[-1]] = new
    return new
