"""The demo stack shipped inside the package, so an installed gtmcheck runs its sandbox with no repository.

``gtmcheck/demo/`` holds the sandbox scenarios (``healthy.yml``, ``drifted.yml``), the campaign URLs their
site serves and the CSVs the demo warehouse is built from. A sandbox environment that names no
``scenario:`` runs the healthy one; one that names no ``warehouse:`` gets the demo warehouse, built from
the bundled CSVs into the user's cache folder (an installed package's own folder may not be writable).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEMO_DIR", "demo_scenario", "demo_warehouse_path"]

DEMO_DIR = Path(__file__).resolve().parent / "demo"
CACHE_ENV = "GTMCHECK_CACHE_DIR"  # overrides where built files (the demo warehouse) go


def demo_scenario(name: str = "healthy") -> Path:
    """The bundled sandbox scenario ``name`` (``healthy`` or ``drifted``)."""
    return DEMO_DIR / f"{name}.yml"


def cache_dir() -> Path:
    """Where gtmcheck keeps files it builds: ``$GTMCHECK_CACHE_DIR``, else the XDG cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "gtmcheck"


def demo_warehouse_path() -> Path:
    """The bundled demo warehouse's DuckDB file, per installed version (built on first use)."""
    from .about import __version__

    return cache_dir() / f"demo-{__version__}" / "warehouse.duckdb"
