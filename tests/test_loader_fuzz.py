"""Fuzz the checklist loader: any input is a Checklist or a SpecError at a real place, never a traceback.

Two sources of input: random YAML documents (random JSON-like trees dumped by PyYAML, and random text built
from YAML punctuation), and random mutations of real checklists (every ``*.gtm.yml`` under ``checks/``,
``fixtures/`` and ``gtmcheck/`` (the bundled demo and the init templates), plus a built-in one so the test
never depends on other people's files).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from gtmcheck import project, secrets, spec
from gtmcheck.dod import KINDS
from gtmcheck.errors import SpecError, relpath

REPO = Path(__file__).resolve().parent.parent

# GTMCHECK_FUZZ_EXAMPLES=5000 GTMCHECK_FUZZ_RANDOM=1 hunts longer and differently, by hand.
FUZZ = settings(
    max_examples=int(os.environ.get("GTMCHECK_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=not os.environ.get("GTMCHECK_FUZZ_RANDOM"),  # by default the same examples every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

BUILTIN_CHECKLIST = """\
# A routing definition of done.
version: 1
kind: routing
name: Inbound demo requests
owner: mops@acme.example
built_by: jane@acme.example
work_type: pre_pipeline
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
object: contacts
rules:                                  # ordered; first match wins
  - id: enterprise-emea
    when: {country: {in: [DE, FR, GB]}, employees: {gte: 1000}}
    assign: {owner: anna@acme.example}
  - id: existing-customer
    when: {email_domain: {in_list: customer_domains}}
    assign: {owner_of: account}
fallback: {owner: inbound-queue@acme.example}
sla: {assigned_within: 5m}
manual:
  - id: ROUTING-ALERTS
    evidence: "https://wiki.acme.example/alerts"
    attested_by: lee@acme.example
    on: 2026-11-20
  - id: ROUTING-EDGE-CASES
    note: >-
      unmatched territory goes to the fallback;
      duplicates keep their owner
"""

TRICKY = [
    "on", "off", "NO", "yes", "~", "null", "'", '"', ": ", "#", " #", "&a", "*a", "!!python/object", "!!binary",
    "\t", "-", "- ", "? ", "|", ">", "---", "...", "%YAML 1.2", "<<", "@", "`", "{", "}", "[", "]", ",", "\\",
    "2026-11-20", "9:30", "0755", "0o17", "0x1F", "1e3", ".inf", ".nan", "1_000", "${HOME}", "${GTMCHECK_NOPE}",
    "$${x}", "${", "${A B}", "\u2028", "\x85", "\ufeff", "\x07", "é", "🙂", "日本", "\r\n", "\r", "",
]
KEYS = ["kind", "name", "owner", "built_by", "signoff", "manual", "version", "work_type", "description", "id",
        "by", "role", "on", "evidence", "attested_by", "urls", "taxonomy", "rules", "<<"]


# --- the invariant ------------------------------------------------------------------------------------


def text_lines(raw: bytes) -> list[str]:
    """The file's lines as editors count them (LF, CRLF or CR), decoding bad bytes as replacements."""
    return re.split(r"\r\n?|\n", raw.decode("utf-8-sig", errors="replace"))


def note_outcome(text: str) -> None:
    """Count outcomes for ``--hypothesis-show-statistics`` (outside a @given test there is nothing to count)."""
    try:
        event(text)
    except InvalidArgument:
        pass


def assert_loads_or_spec_error(path: Path, raw: bytes) -> None:
    """Write ``raw`` to ``path`` and load it as a checklist: a Checklist, or a SpecError at a real place."""
    path.write_bytes(raw)
    lines = text_lines(raw)
    try:
        checklist = spec.load_checklist(path)
    except SpecError as raised:
        assert len(str(raised).split("\n")) == len(raised.errors), repr(raised)  # one line per error
        for err in raised.errors:  # every schema error of the file (SpecErrors), each at a real place
            loc = err.location
            assert loc is not None, f"no location: {err}"
            assert loc.file == relpath(path), str(err)
            assert 1 <= loc.line <= len(lines) + 1, f"line out of range: {err}"
            assert loc.column >= 1, str(err)
            if loc.line <= len(lines):
                assert loc.column <= len(lines[loc.line - 1]) + 2, f"column out of range: {err}"
            assert err.message.strip(), "empty message"
            note_outcome("SpecError: " + err.message.split("'")[0][:40])
            assert "\n" not in str(err) and "\r" not in str(err), f"not one line: {err!r}"  # file:line:column: message
    else:
        assert isinstance(checklist, spec.Checklist)
        note_outcome("loaded")
        assert isinstance(checklist.data, dict)
        for line, column in (*checklist.doc.marks.values(), *checklist.doc.key_marks.values()):
            assert 1 <= line <= len(lines) + 1 and column >= 1
    finally:
        secrets.clear()


@pytest.fixture(scope="module")
def case_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "case.gtm.yml"


# --- (a) random YAML documents ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(TRICKY)
)
keys = st.sampled_from(KEYS) | st.sampled_from(TRICKY) | st.text(max_size=8)
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five, else ``other``: keeps most documents past the first check."""
    return st.integers(min_value=0, max_value=4).flatmap(lambda n: other if n == 0 else good)


emails = st.sampled_from(["mops@acme.example", "jane@acme.example", "lee@acme.example"])
header_values = mostly(emails, st.sampled_from(["x", ""]) | scalars)
checklist_like = st.fixed_dictionaries(
    {
        "kind": mostly(st.sampled_from(KINDS), scalars),
        "name": mostly(st.text(min_size=1, max_size=20), scalars),
        "owner": header_values,
        "built_by": header_values,
    },
    optional={
        "version": st.sampled_from([1, 2, "1"]),
        "signoff": st.fixed_dictionaries(
            {"by": header_values, "role": scalars, "on": st.sampled_from(["2026-11-20", "20/11/2026"]) | scalars}
        ) | trees,
        "manual": st.lists(st.fixed_dictionaries({"id": st.sampled_from(["ROUTING-ALERTS", "UTM-URLS-RESOLVE",
                                                                             "CRM-SIGNOFF", "bad"]) | scalars},
                                                 optional={"evidence": scalars, "on": scalars}) | trees,
                           max_size=3),
        "work_type": st.sampled_from(["pre_pipeline", "in_pipeline", "cross_functional", "nope"]) | scalars,
        "urls": trees,
        "taxonomy": trees,
        "extra": trees,
    },
)


@FUZZ
@given(
    doc=mostly(checklist_like, trees),
    flow=st.sampled_from([None, True, False]),
    unicode=st.booleans(),
    width=st.sampled_from([20, 80, 10_000]),
)
def test_random_yaml_documents(case_path: Path, doc: Any, flow: bool | None, unicode: bool, width: int) -> None:
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=unicode, sort_keys=False, width=width)
    assert_loads_or_spec_error(case_path, text.encode("utf-8"))


PUNCTUATION = [
    ": ", ":", "- ", "-", "? ", "[", "]", "{", "}", ",", "#", " #", "&a ", "*a", "&b ", "*b", "!", "!!str ",
    "!!python/object:os.system ", "!!int ", "!!map ", "!!seq ", "!foo ", "|", "|-", ">", "'", '"', "\n", "\n",
    "\n  ", "  ", " ", "\t", "---\n", "...\n", "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "<<: ", "kind: ", "routing",
    "utm", "name: ", "x", "1", "~", "on", "${A}", "${HOME}", "$${", "\\", "\\u", "@", "`", "%", "\r\n", "\r",
    "\ufeff", "\x85", "\u2028", "é", "\x07", "\ud800",
]


@FUZZ
@given(
    tokens=st.lists(
        st.sampled_from(PUNCTUATION) | st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=3),
        max_size=60,
    ),
    junk=st.just(b"") | st.just(b"") | st.binary(min_size=1, max_size=4),
    junk_at=st.integers(min_value=0),
)
def test_random_yaml_punctuation(case_path: Path, tokens: list[str], junk: bytes, junk_at: int) -> None:
    raw = "".join(tokens).encode("utf-8", errors="surrogatepass")
    at = junk_at % (len(raw) + 1)
    assert_loads_or_spec_error(case_path, raw[:at] + junk + raw[at:])


def test_header_then_punctuation(case_path: Path) -> None:
    """A few hand-picked nasties after a valid header, as a regular test."""
    header = "kind: routing\nname: x\nowner: a@b.example\nbuilt_by: c@d.example\n"
    for tail in ["x: &a [*a]\n", "x: !!python/object/apply:os.system [ls]\n", "x: \x01\n", "x: {<<: *nope}\n",
                 "x: !!int abc\n", "x: '\u2028'\ny: [\n", "\t\n", "name: dup\n", "x: ${}\n", "x: \"\\ud800\"\n"]:
        assert_loads_or_spec_error(case_path, (header + tail).encode("utf-8", errors="surrogatepass"))


# --- (b) mutations of real checklists -----------------------------------------------------------------


@cache
def seed_texts() -> tuple[str, ...]:
    """Every checklist in the repository, globbed when the test runs, plus the built-in one."""
    found = [BUILTIN_CHECKLIST]
    for folder in (REPO / "checks", REPO / "fixtures", REPO / "gtmcheck"):
        for path in sorted(folder.rglob("*.gtm.y*ml")) if folder.is_dir() else []:
            try:
                found.append(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
    return tuple(found)


OTHER_TYPES = ["[]", "{}", "1", "-3.5", "true", "~", "''", "'x'", "[a, b]", "{a: 1}", "2026-11-20", "\n  - x",
               "\n  a: 1", "|\n  text", "*a", "&a x", "!!python/object {}", "${GTMCHECK_NOPE}", "on", "1e999"]
KEY_LINE = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][\w-]*)(\s*:)")


Mutation = Callable[[st.DataObject, list[str]], list[str]]


def _line(data: st.DataObject, lines: list[str]) -> int:
    return data.draw(st.integers(min_value=0, max_value=max(len(lines) - 1, 0)))


def delete_line(data: st.DataObject, lines: list[str]) -> list[str]:
    i = _line(data, lines)
    return lines[:i] + lines[i + 1:]


def duplicate_line(data: st.DataObject, lines: list[str]) -> list[str]:
    i = _line(data, lines)
    return lines[: i + 1] + lines[i:]


def swap_lines(data: st.DataObject, lines: list[str]) -> list[str]:
    i, j = _line(data, lines), _line(data, lines)
    out = list(lines)
    if out:
        out[i], out[j] = out[j], out[i]
    return out


def change_indentation(data: st.DataObject, lines: list[str]) -> list[str]:
    i = _line(data, lines)
    if not lines:
        return lines
    line = lines[i]
    stripped = line.lstrip(" ")
    width = data.draw(st.integers(min_value=0, max_value=8))
    pad = data.draw(st.sampled_from([" ", "\t", "  "])) * width
    return lines[:i] + [pad + stripped] + lines[i + 1:]


def insert_characters(data: st.DataObject, lines: list[str]) -> list[str]:
    i = _line(data, lines)
    line = lines[i] if lines else ""
    at = data.draw(st.integers(min_value=0, max_value=len(line)))
    chars = data.draw(st.sampled_from(TRICKY + PUNCTUATION) | st.text(min_size=1, max_size=4))
    return lines[:i] + [line[:at] + chars + line[at:]] + lines[i + 1:]


def truncate(data: st.DataObject, lines: list[str]) -> list[str]:
    text = "".join(lines)
    return [text[: data.draw(st.integers(min_value=len(text) // 3, max_value=len(text)))]]


def replace_value(data: st.DataObject, lines: list[str]) -> list[str]:
    candidates = [i for i, line in enumerate(lines) if ":" in line]
    if not candidates:
        return lines
    i = data.draw(st.sampled_from(candidates))
    head = lines[i].split(":", 1)[0]
    return lines[:i] + [f"{head}: {data.draw(st.sampled_from(OTHER_TYPES))}\n"] + lines[i + 1:]


def rename_key(data: st.DataObject, lines: list[str]) -> list[str]:
    candidates = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
    if not candidates:
        return lines
    i = data.draw(st.sampled_from(candidates))
    m = KEY_LINE.match(lines[i])
    assert m is not None
    key = m.group(2)
    new = data.draw(
        st.sampled_from([key[:-1], key + "s", key[1:] + key[0], key.upper(), "kind", "name", "<<", "on"])
        | st.sampled_from(KEYS)
        | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
    )
    return lines[:i] + [m.group(1) + (new or "x") + lines[i][m.end(2):]] + lines[i + 1:]


MUTATIONS: list[Mutation] = [
    delete_line, duplicate_line, swap_lines, change_indentation, insert_characters, truncate, replace_value,
    rename_key,
]


@FUZZ
@given(data=st.data())
def test_mutated_checklists(case_path: Path, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(seed_texts()), label="seed")
    lines = text.splitlines(keepends=True)
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4), label="mutations"):
        lines = mutation(data, lines)
    raw = "".join(lines).encode("utf-8", errors="surrogatepass")
    if data.draw(st.integers(0, 9), label="truncate bytes") == 0:  # may cut a character in half
        raw = raw[: data.draw(st.integers(min_value=len(raw) // 3, max_value=len(raw)))]
    assert_loads_or_spec_error(case_path, raw)


@pytest.mark.parametrize("index", range(3))
def test_seeds_load_or_fail_cleanly(case_path: Path, index: int) -> None:
    texts = seed_texts()
    if index >= len(texts):
        pytest.skip("fewer checklists in the repository")
    assert_loads_or_spec_error(case_path, texts[index].encode("utf-8"))


def test_builtin_seed_is_valid(case_path: Path) -> None:
    case_path.write_text(BUILTIN_CHECKLIST, encoding="utf-8")
    checklist = spec.load_checklist(case_path)
    assert checklist.kind == "routing"
    assert set(checklist.manual) == {"ROUTING-ALERTS", "ROUTING-EDGE-CASES"}


# --- (c) mutations of project files -------------------------------------------------------------------

BUILTIN_PROJECT = """\
version: 1
environments:
  sandbox:
    description: the embedded demo stack
    crm: {type: sandbox, scenario: gtmcheck/demo/healthy.yml}
    warehouse: {url: "duckdb:///gtmcheck/demo/warehouse.duckdb"}
    web: {type: sandbox, timeout: 5}
  production:
    crm: {type: hubspot, token: "${GTMCHECK_FUZZ_TOKEN}", base_url: "https://api.hubapi.com"}
    warehouse: {url: "postgresql://app:${GTMCHECK_FUZZ_PW:-pw}@db/x"}
    writes: true
default_environment: sandbox
checks: [checks]
"""


@cache
def project_seeds() -> tuple[str, ...]:
    found = [BUILTIN_PROJECT]
    path = REPO / project.PROJECT_FILE
    if path.is_file():
        found.append(path.read_text(encoding="utf-8"))
    return tuple(found)


@FUZZ
@given(data=st.data())
def test_mutated_project_files(case_path: Path, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(project_seeds()), label="seed")
    lines = text.splitlines(keepends=True)
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3), label="mutations"):
        lines = mutation(data, lines)
    raw = "".join(lines).encode("utf-8", errors="surrogatepass")
    path = case_path.with_name(project.PROJECT_FILE)
    path.write_bytes(raw)
    project._load_project_file.cache_clear()  # the same path holds a new file every time
    try:
        proj = project.load_project(project_file=path)
        for name in proj.environment_names:
            try:
                env = proj.environment(name)
            except SpecError as err:  # a ${VAR} without a value
                assert err.location is not None and 1 <= err.location.line <= len(text_lines(raw)) + 1
            else:
                assert env.name == name and isinstance(env.crm, dict)
    except SpecError as err:
        loc = err.location
        assert loc is not None and loc.file == relpath(path), str(err)
        assert 1 <= loc.line <= len(text_lines(raw)) + 1 and loc.column >= 1, str(err)
        note_outcome("SpecError: " + err.message.split("'")[0][:40])
    finally:
        project._load_project_file.cache_clear()
        secrets.clear()
