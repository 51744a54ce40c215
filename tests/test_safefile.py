"""Files a user names are read safely: a FIFO, /dev/zero, a symlink loop, a folder, a huge or non-UTF-8 file
is an error at the line that names it (or one CLI line), exit 2; never a hang, a MemoryError or a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gtmcheck.cli import main
from gtmcheck.errors import SpecError, UnreadableFile
from gtmcheck.project import load_project
from gtmcheck.safefile import read_capped, read_text_capped
from gtmcheck.sandbox.scenario import Scenario
from gtmcheck.spec import load_checklist

pytestmark = [
    pytest.mark.usefixtures("no_hang"),  # a blocked read fails the test, never hangs the suite
    pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX"),
]




def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def symlink_loop(path: Path) -> Path:
    path.symlink_to(path.name)  # a link to itself
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def sparse_huge(path: Path) -> Path:
    with path.open("wb") as fh:
        fh.truncate(80 * 1024 * 1024)  # 80 MB of nothing: no disk used
    return path


def not_utf8(path: Path) -> Path:
    path.write_bytes(b"domain\nacme.example\n\xff\xfe\n")
    return path


def dev_zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")  # a link to the device: read by path it never ends
    return path


# (make the bad file, what the message says)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "fifo": (fifo, "is a named pipe (FIFO), not a regular file"),
    "dev_zero": (dev_zero, "is a device, not a regular file"),
    "symlink_loop": (symlink_loop, "is a symbolic link loop"),
    "directory": (folder, "is a directory"),
    "too_big": (sparse_huge, "is 83,886,080 bytes, over the "),
    "not_utf8": (not_utf8, "is not valid UTF-8 (line 3)"),
}


# --- the reader itself --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_read_capped_refuses_what_is_not_a_small_regular_text_file(tmp_path: Path, case: str) -> None:
    make, says = BAD_FILES[case]
    path = make(tmp_path / "f.csv")
    with pytest.raises(UnreadableFile) as info:
        read_text_capped(path, 16 * 1024 * 1024)
    assert says in info.value.problem
    assert info.value.hint
    assert str(path) not in str(info.value)  # callers name the file, in their own words


def test_read_capped_reads_a_regular_file_and_refuses_one_byte_over(tmp_path: Path) -> None:
    path = tmp_path / "ok.txt"
    path.write_bytes(b"\xef\xbb\xbfa\nb\n")
    assert read_text_capped(path, 100) == "a\nb\n"  # the byte order mark dropped
    assert read_capped(path, 7) == b"\xef\xbb\xbfa\nb\n"
    with pytest.raises(UnreadableFile, match="over the 6 byte limit"):
        read_capped(path, 6)


def test_read_capped_refuses_the_device_itself_and_odd_paths(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="is a device"):
        read_capped("/dev/zero", 10)
    with pytest.raises(UnreadableFile, match="does not exist"):
        read_capped(tmp_path / "missing", 10)
    with pytest.raises(UnreadableFile, match="NUL"):
        read_capped(str(tmp_path / "a\0b"), 10)


# --- every place gtmcheck reads a file a user names -----------------------------------------------------

ROUTING = """\
kind: routing
name: Lists
owner: mops@acme.example
built_by: jane@acme.example
lists:
  customers: {file: customers.csv}
rules:
  - id: customer
    when: {email_domain: {in_list: customers}}
    assign: {owner_of: account}
fallback: {queue: inbound-queue@acme.example}
"""

UTM = """\
kind: utm
name: URLs
owner: mops@acme.example
built_by: jane@acme.example
taxonomy:
  required: [utm_source]
url_files:
  - {path: customers.csv}
"""


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize(("checklist", "line", "column", "what"), [
    (ROUTING, 6, 21, "list file 'customers.csv'"),
    (UTM, 8, 12, "URL file 'customers.csv'"),
])
def test_side_file_errors_point_at_the_line_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, checklist: str, line: int, column: int, what: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make, says = BAD_FILES[case]
    make(tmp_path / "customers.csv")
    (tmp_path / "c.gtm.yml").write_text(checklist)
    with pytest.raises(SpecError) as info:
        load_checklist(tmp_path / "c.gtm.yml")
    assert str(info.value).startswith(f"c.gtm.yml:{line}:{column}: {what} {says}"), str(info.value)
    assert "Fix: " in str(info.value)


@pytest.mark.parametrize("case", ["fifo", "dev_zero", "symlink_loop", "not_utf8"])
def test_lint_refuses_a_bad_checklist_file_in_a_folder_or_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make, says = BAD_FILES[case]
    make(folder(tmp_path / "checks") / "x.gtm.yml")
    if case == "not_utf8":
        says = "the file is not valid UTF-8"  # the loader names the line and column of the bad byte
    for target in ("checks", "checks/x.gtm.yml"):
        assert main(["lint", target]) == 2
        out = capsys.readouterr().out
        assert out.startswith("checks/x.gtm.yml:") and says in out, out
    assert main(["lint", "/dev/zero"]) == 2
    assert "/dev/zero:1:1: GTM001 [error] the file is a device, not a regular file" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["fifo", "dev_zero", "symlink_loop", "directory"])
def test_project_file_that_is_not_a_file(tmp_path: Path, case: str) -> None:
    make, says = BAD_FILES[case]
    path = make(tmp_path / "gtmcheck.yml")
    with pytest.raises(SpecError, match=says.replace("(", r"\(").replace(")", r"\)")):
        load_project(project_file=path)


@pytest.mark.parametrize("case", ["fifo", "dev_zero", "symlink_loop", "not_utf8"])
def test_scenario_record_files_and_sandbox_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, says = BAD_FILES[case]
    make(tmp_path / "contacts.csv")
    scenario = tmp_path / "s.yml"
    scenario.write_text("records:\n  contacts: contacts.csv\n")
    with pytest.raises(SpecError, match="records file 'contacts.csv' " + says.split(" (")[0]) as info:
        Scenario.load(scenario)
    assert info.value.location is not None and info.value.location.line == 2
    assert main(["sandbox", "serve", "--scenario", str(scenario), "--port", "0"]) == 2
    assert "records file 'contacts.csv'" in capsys.readouterr().err


def test_sandbox_serve_refuses_a_fifo_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fifo(tmp_path / "s.yml")
    assert main(["sandbox", "serve", "--scenario", str(path), "--port", "0"]) == 2
    assert "the file is a named pipe (FIFO)" in capsys.readouterr().err


def test_pytest_collection_error_at_the_line_of_a_fifo_list_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", gtmcheck="version: 1\nenvironments:\n  local: {crm: {type: sandbox}}\n")
    checks = pytester.mkdir("checks")
    (checks / "r.gtm.yml").write_text(ROUTING)
    fifo(checks / "customers.csv")
    result = pytester.runpytest("checks")
    result.stdout.fnmatch_lines(
        ["checks/r.gtm.yml:6:21: list file 'customers.csv' is a named pipe (FIFO), not a regular file. Fix: *"]
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_file_that_grows_while_read_is_still_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size the descriptor reports is not trusted: never more than the cap + 1 bytes are read."""
    import gtmcheck.safefile as safefile

    path = tmp_path / "growing.csv"
    path.write_bytes(b"x" * 5000)
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> os.stat_result:  # as if it was 10 bytes when opened, then grew
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, *info[1:6], 10, *info[7:]))

    monkeypatch.setattr(safefile.os, "fstat", stale_fstat)
    reads: list[int] = []
    real_read = os.read
    monkeypatch.setattr(safefile.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(UnreadableFile, match="over the 100 byte limit"):
        read_capped(path, 100)
    assert sum(reads) <= 101
