"""The sandbox CRM's sync into its environment's demo warehouse: changed contacts reach ``contacts`` after a lag.

A real stack copies CRM records into the warehouse on a schedule (Fivetran, Airbyte, HubSpot's own sync), so
a new contact shows up there minutes later. With a scenario ``sync: {lag_ms: ...}``, every contact the sandbox
creates or changes after loading is written, as a version stamped ``visible_ms`` (wall time of the change plus
the lag), to a JSON-lines file of this process in the warehouse's sync folder
(``connectors.demo_warehouse.sync_folder``). The warehouse's ``contacts`` is a view over its loaded rows and
the latest visible version of each synced contact (a synced one replaces the loaded row of the same ``id``),
so SQL sees a contact only once its lag has passed, with no background thread. An archived contact leaves
the file at once: synthetic rows never outlive the records they copy. Files of processes that are gone are
removed when a sandbox of the same warehouse first writes.

The sync needs the warehouse the environment reads: the scenario's ``warehouse:`` (or the bundled demo's). A
warehouse that cannot be built turns the sync off; the CRM itself never fails because of it.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SYNC_SCHEMA", "ContactSync"]

SYNC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "x-default": "none: the warehouse holds only the loaded CSVs",
    "description": "A sync of the CRM's contacts into this environment's demo warehouse (`contacts`): "
    "every contact created or changed after loading appears there `lag_ms` later (archived ones leave at once).",
    "properties": {
        "lag_ms": {"type": "number", "minimum": 0, "maximum": 3_600_000, "default": 0,
                   "description": "How long a change takes to reach the warehouse (milliseconds, at most an hour).",
                   "examples": [1500]},
    },
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class ContactSync:
    """One sandbox's synced contact versions, written to its own file in the warehouse's sync folder."""

    def __init__(self, scenario_path: Path | None, settings: Mapping[str, Any] | None,
                 wall_ms: Callable[[], int], folder: Path | None = None) -> None:
        self.enabled = settings is not None and (scenario_path is not None or folder is not None)
        self.lag_ms = int(float((settings or {}).get("lag_ms", 0)))
        self.scenario_path = scenario_path
        self.wall_ms = wall_ms
        self._folder = folder
        self._file: Path | None = None
        self._versions: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self.error: str | None = None

    def _target(self) -> Path | None:
        if self._file is not None or not self.enabled:
            return self._file
        try:
            folder = self._folder
            if folder is None:
                from ..connectors.demo_warehouse import sandbox_warehouse, sync_folder

                folder = sync_folder(sandbox_warehouse(self.scenario_path))
            folder.mkdir(parents=True, exist_ok=True)
            for leftover in folder.glob("*-*.jsonl"):  # files of sandboxes whose process is gone
                pid = leftover.name.split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    leftover.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - any unusable warehouse turns the sync off, never the CRM
            self.enabled = False
            self.error = f"the warehouse sync is off: {exc}"
            return None
        self._file = folder / f"{os.getpid()}-{id(self):x}.jsonl"
        atexit.register(self.close)  # the process ends: its rows go (a killed one's go at the next start)
        return self._file

    def changed(self, record_id: str, properties: Mapping[str, str], owners: Sequence[Mapping[str, Any]]) -> None:
        """A contact was created or changed: its new state reaches the warehouse ``lag_ms`` from now.

        ``owners`` (the CRM's) give the ``owner_email`` column, as the scenario's CSVs name owners.
        """
        if not self.enabled:
            return
        now = self.wall_ms()
        row = {k: v for k, v in properties.items() if v is not None}
        owner = properties.get("hubspot_owner_id")
        email = next((o.get("email") for o in owners if owner and o.get("id") == owner), None)
        if email:
            row["owner_email"] = str(email)
        with self._lock:
            versions = self._versions.setdefault(record_id, [])
            visible = [v for v in versions if v[0] <= now]
            versions[:] = [*visible[-1:], *[v for v in versions if v[0] > now], (now + self.lag_ms, row)]
            self._write()

    def archived(self, record_id: str) -> None:
        """A contact was archived: every version of it leaves the warehouse now."""
        if not self.enabled:
            return
        with self._lock:
            if self._versions.pop(record_id, None) is not None:
                self._write()

    def _write(self) -> None:
        target = self._target()
        if target is None:
            return
        lines = [json.dumps({"id": record_id, "visible_ms": at, "props": props}, sort_keys=True)
                 for record_id, versions in self._versions.items() for at, props in versions]
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            self.error = f"the warehouse sync could not write {target}: {exc}"

    def close(self) -> None:
        """Remove this sandbox's file: its rows go with it."""
        with self._lock:
            self._versions.clear()
            if self._file is not None:
                self._file.unlink(missing_ok=True)
