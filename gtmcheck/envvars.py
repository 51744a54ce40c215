"""``${VAR}`` expansion in checklists and the project file.

``${VAR}`` takes the variable, ``${VAR:-default}`` falls back to a default, ``$${`` writes a literal ``${``.
A missing variable is an error at the line that uses it; its value is never echoed, and every expanded
value is registered as a secret so that no report or log can show it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from . import secrets
from .errors import EnvVarError
from .yamlfile import Document, JsonPath, walk_strings

_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?")


def expand_string(text: str, env: Mapping[str, str], where: Any = None) -> str:
    """Expand references in one string; ``where`` is a callable giving the error location."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        if name is None:
            raise EnvVarError(
                f"malformed variable reference {m.group(0)!r}",
                where() if where else None,
                "write ${NAME} with letters, digits and underscores, or $${ for a literal ${",
            )
        if name in env:
            value = env[name]
            secrets.register(value)
            return value
        if default is not None:
            return default
        raise EnvVarError(
            f"environment variable {name} is not set",
            where() if where else None,
            f"export {name}=... before running, or choose an environment that does not need it (--env)",
        )

    if "$" not in text:
        return text
    return _REF.sub(sub, text)


def expand(doc: Document, path: JsonPath = (), env: Mapping[str, str] | None = None) -> Any:
    """Return a copy of the data under ``path`` with every string expanded, in place in ``doc.data``."""
    environ = os.environ if env is None else env
    root = doc.get(path)
    for sub_path, value in list(walk_strings(root, path)):
        if "$" not in value:
            continue
        new = expand_string(value, environ, lambda p=sub_path: doc.location(p))
        parent = doc.get(sub_path[:-1]) if sub_path else None
        if parent is None:
            return new
        parent[sub_path[-1]] = new
        if isinstance(sub_path[-1], str) and secrets.SECRET_KEYS.search(sub_path[-1]):
            secrets.register(new)
    return doc.get(path)
