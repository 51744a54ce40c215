"""The YAML layer: YAML 1.2 scalars, positions on every value, and hostile input as SpecError at a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmcheck import yamlfile
from gtmcheck.errors import SpecError, relpath


def write(tmp_path: Path, content: str | bytes, name: str = "doc.yml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def load(tmp_path: Path, content: str | bytes) -> yamlfile.Document:
    return yamlfile.load(write(tmp_path, content))


def fails(tmp_path: Path, content: str | bytes) -> SpecError:
    path = write(tmp_path, content)
    with pytest.raises(SpecError) as info:
        yamlfile.load(path)
    err = info.value
    assert err.location is not None
    assert err.location.file == relpath(path)
    assert err.location.line >= 1 and err.location.column >= 1
    assert err.message and err.hint
    return err


def where(err: SpecError) -> tuple[int, int]:
    assert err.location is not None
    return err.location.line, err.location.column


# --- YAML 1.2 scalars ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on", "on"), ("off", "off"), ("yes", "yes"), ("no", "no"), ("NO", "NO"), ("Y", "Y"), ("n", "n"),
        ("true", True), ("false", False), ("True", True), ("FALSE", False),
        ("2026-11-20", "2026-11-20"), ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z"),
        ("9:30", "9:30"),  # YAML 1.1 sexagesimal would make this 570
        ("2026_11", "2026_11"),  # YAML 1.1 would make this 202611
        ("0755", 755),  # YAML 1.1 would read octal 493
        ("0o17", 15), ("0x1F", 31), ("-12", -12), ("1.5", 1.5), ("1e3", 1000.0),
        ("~", None), ("null", None), ("", None),
        ("'on'", "on"), ('"1"', "1"),
    ],
)
def test_yaml_1_2_scalars(tmp_path: Path, text: str, expected: object) -> None:
    value = load(tmp_path, f"v: {text}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_on_key_stays_the_string_on(tmp_path: Path) -> None:
    doc = load(tmp_path, "on:\n  push: {}\nyes: 1\nNO: country\n")
    assert list(doc.data) == ["on", "yes", "NO"]
    assert doc.data["NO"] == "country"


def test_keys_are_their_source_text(tmp_path: Path) -> None:
    assert list(load(tmp_path, "1: a\n~: b\ntrue: c\n2026-01-01: d\n").data) == ["1", "~", "true", "2026-01-01"]


def test_nan_is_kept_as_written(tmp_path: Path) -> None:
    assert load(tmp_path, "v: .nan\n").data["v"] == ".nan"


# --- positions ----------------------------------------------------------------------------------------


def test_every_value_and_key_has_its_position(tmp_path: Path) -> None:
    doc = load(tmp_path, "# comment\nkind: utm\nurls:\n  - url: https://a.example\n    tag:   x\n")
    assert doc.location(("kind",)).line == 2 and doc.location(("kind",)).column == 7
    assert (doc.location(("urls", 0, "tag")).line, doc.location(("urls", 0, "tag")).column) == (5, 12)
    assert (doc.location(("urls", 0, "tag"), key=True).line, doc.location(("urls", 0, "tag"), key=True).column) == (
        5, 5,
    )
    # a path that does not exist falls back to its nearest ancestor
    assert doc.location(("urls", 0, "nope", 3)).line == 4
    assert doc.location(()).line == 2


def test_unicode_line_separators_do_not_shift_lines(tmp_path: Path) -> None:
    # PyYAML counts U+2028 and U+0085 as line breaks; editors and CI annotations do not.
    doc = load(tmp_path, "a: 'x\u2028y'\nb: 'z\x85w'\nc: ok\n")
    assert doc.data["b"] == "z w"  # YAML folds the break inside a quoted scalar
    assert doc.location(("c",)).line == 3
    err = fails(tmp_path, "a: 'x\u2028y'\nb: 'z\u2029w'\nc: [1\n")
    assert where(err)[0] == 4


def test_crlf_and_cr_line_endings(tmp_path: Path) -> None:
    doc = load(tmp_path, "a: 1\r\nb: 2\r\n")
    assert doc.location(("b",)).line == 2
    doc = load(tmp_path, "a: 1\rb: 2\r")
    assert doc.location(("b",)).line == 2


def test_bom_is_accepted(tmp_path: Path) -> None:
    assert load(tmp_path, b"\xef\xbb\xbfkind: utm\n").data == {"kind": "utm"}


# --- malformed YAML -----------------------------------------------------------------------------------


def test_duplicate_key_points_at_the_second(tmp_path: Path) -> None:
    err = fails(tmp_path, "a: 1\nb: 2\na: 3\n")
    assert "duplicate key 'a'" in err.message
    assert where(err) == (3, 1)


def test_duplicate_key_in_a_flow_mapping(tmp_path: Path) -> None:
    err = fails(tmp_path, "x:\n  y: {a: 1, a: 2}\n")
    assert "duplicate key" in err.message
    assert where(err) == (2, 13)


def test_tab_indentation(tmp_path: Path) -> None:
    err = fails(tmp_path, "a:\n\tb: 1\n")
    assert where(err) == (2, 1)
    assert "tab" in err.hint


def test_multiple_documents(tmp_path: Path) -> None:
    err = fails(tmp_path, "a: 1\n---\nb: 2\n")
    assert "more than one YAML document" in err.message
    assert where(err)[0] == 2


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "---\n", "--- # nothing\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    err = fails(tmp_path, content)
    assert "empty" in err.message
    assert where(err) == (1, 1)


def test_unclosed_flow_sequence(tmp_path: Path) -> None:
    err = fails(tmp_path, "a: 1\nb: [1, 2\n")
    assert err.message.startswith("invalid YAML")
    assert where(err)[0] == 3


def test_bad_indentation(tmp_path: Path) -> None:
    err = fails(tmp_path, "a:\n  b: 1\n c: 2\n")
    assert where(err)[0] == 3


def test_undefined_alias(tmp_path: Path) -> None:
    err = fails(tmp_path, "a: *nope\n")
    assert "undefined alias" in err.message
    assert where(err) == (1, 4)


def test_complex_key_refused(tmp_path: Path) -> None:
    err = fails(tmp_path, "? [a, b]\n: 1\n")
    assert "key" in err.message


# --- encodings and characters -------------------------------------------------------------------------


def test_non_utf8_byte_points_at_the_byte(tmp_path: Path) -> None:
    err = fails(tmp_path, b"kind: utm\nname: caf\xc3\xa9 \xff here\n")
    assert "UTF-8" in err.message
    assert where(err) == (2, 12)  # columns count characters, as editors do: "name: café " is 11


def test_non_utf8_after_a_bom(tmp_path: Path) -> None:
    err = fails(tmp_path, b"\xef\xbb\xbfa: 1\nb: \xe9\n")
    assert where(err) == (2, 4)


def test_utf16_file(tmp_path: Path) -> None:
    err = fails(tmp_path, "kind: utm\n".encode("utf-16"))
    assert "UTF-8" in err.message
    assert where(err) == (1, 1)


def test_control_character(tmp_path: Path) -> None:
    err = fails(tmp_path, "kind: utm\nname: a\x01b\n")
    assert "U+0001" in err.message
    assert where(err) == (2, 8)


def test_unpaired_surrogate_escape(tmp_path: Path) -> None:
    err = fails(tmp_path, 'a: 1\nb: "\\ud800"\n')
    assert "surrogate" in err.message
    assert where(err) == (2, 4)


# --- tags ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/object:builtins.object {}",
        "!!python/name:os.system",
        "!!python/tuple [1, 2]",
    ],
)
def test_python_tags_refused(tmp_path: Path, value: str) -> None:
    err = fails(tmp_path, f"a: 1\nb: {value}\n")
    assert where(err)[0] == 2


@pytest.mark.parametrize(
    "value", ["!!int abc", "!!float abc", "!!bool maybe", "!!timestamp 2026-01-01", "!!binary aGk=", "!custom x"]
)
def test_explicit_tags_that_do_not_fit(tmp_path: Path, value: str) -> None:
    err = fails(tmp_path, f"a: 1\nb: {value}\n")
    assert where(err) == (2, 4)


@pytest.mark.parametrize("value", ["!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]", "!custom [1]"])
def test_tags_on_collections_refused(tmp_path: Path, value: str) -> None:
    err = fails(tmp_path, f"a: 1\nb: {value}\n")
    assert "tag" in err.message
    assert where(err) == (2, 4)


def test_harmless_explicit_tags(tmp_path: Path) -> None:
    doc = load(tmp_path, "a: !!str 1\nb: !!int '7'\nc: !!map {x: !!seq [1]}\n")
    assert doc.data == {"a": "1", "b": 7, "c": {"x": [1]}}


# --- aliases and merges -------------------------------------------------------------------------------


def test_aliases_and_merges(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "base: &b {owner: x@acme.example, region: emea}\n"
        "item:\n"
        "  <<: *b\n"
        "  owner: y@acme.example\n"
        "list: [*b]\n",
    )
    assert doc.data["item"] == {"owner": "y@acme.example", "region": "emea"}  # own keys override merged ones
    assert doc.data["list"] == [{"owner": "x@acme.example", "region": "emea"}]
    assert doc.location(("item", "owner")).line == 4


def test_merge_order_earlier_source_wins(tmp_path: Path) -> None:
    doc = load(tmp_path, "a: &a {k: 1}\nb: &b {k: 2, j: 3}\nc: {<<: [*a, *b]}\n")
    assert doc.data["c"] == {"k": 1, "j": 3}


def test_merge_of_a_scalar(tmp_path: Path) -> None:
    err = fails(tmp_path, "a: 1\nb: {<<: 1}\n")
    assert "merge" in err.message
    assert where(err)[0] == 2


def test_billion_laughs_fails_with_a_message_about_aliases(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    err = fails(tmp_path, "\n".join(lines) + "\n")
    assert "alias" in str(err)
    assert 1 <= where(err)[0] <= 10


def test_too_many_values_without_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlfile, "MAX_VALUES", 100)
    err = fails(tmp_path, "a:\n" + "".join(f"  - {i}\n" for i in range(150)))
    assert "more than 100 values" in err.message
    assert where(err) == (2, 3)
    assert load(tmp_path, "a:\n" + "".join(f"  - {i}\n" for i in range(90))).data["a"][-1] == 89


def test_merge_bomb_stays_small(tmp_path: Path) -> None:
    lines = ["m0: &m0 {k: 1}"]
    lines += [f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 10) + "]}" for i in range(1, 30)]
    doc = load(tmp_path, "\n".join(lines) + "\n")
    assert doc.data["m29"] == {"k": 1}


@pytest.mark.parametrize("content", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {b: [{c: *a}]}\n"])
def test_self_referencing_anchor(tmp_path: Path, content: str) -> None:
    err = fails(tmp_path, content)
    assert "alias" in err.message and "itself" in err.message
    assert where(err) == (1, 4)


def test_self_merging_anchor(tmp_path: Path) -> None:
    err = fails(tmp_path, "a: &a {<<: *a}\n")
    assert "merge" in err.message


def test_deep_nesting(tmp_path: Path) -> None:
    err = fails(tmp_path, "[" * 5000)
    assert "nest" in err.message or "invalid YAML" in err.message


def test_nesting_beyond_the_depth_limit(tmp_path: Path) -> None:
    depth = yamlfile.MAX_DEPTH + 5
    err = fails(tmp_path, "a: " + "[" * depth + "]" * depth + "\n")
    assert "nesting" in err.message


# --- files --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(SpecError, match="not found") as info:
        yamlfile.load(path)
    assert info.value.location is not None and info.value.location.line == 1


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="directory"):
        yamlfile.load(tmp_path)


def test_file_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlfile, "MAX_FILE_BYTES", 1000)
    err = fails(tmp_path, "a: " + "x" * 2000 + "\n")
    assert "limit" in err.message
    assert where(err) == (1, 1)


def test_real_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    with path.open("wb") as fh:
        fh.truncate(yamlfile.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(SpecError, match="byte limit"):
        yamlfile.load(path)


def test_walk_strings() -> None:
    data = {"a": ["x", {"b": "y"}, 3], "c": None}
    assert list(yamlfile.walk_strings(data)) == [(("a", 0), "x"), (("a", 1, "b"), "y")]


FAST_AND_SLOW = [
    "a: 1\nb: [x, 'y', \"z\"]\nc: {d: 0x1F, e: 0o17, f: 1.5e3, g: .inf, h: on, i: 2026-11-20}\n",
    "base: &b {owner: a@acme.example, n: 2}\nrules:\n  - <<: *b\n    id: r1\n  - {<<: [*b], id: r2, n: 3}\n",
    "text: |\n  line one\n  has ${TOKEN} here\n\tkey: value\n",  # a tab: both refuse it, at the same place
    "a: 1\na: 2\n",
    "list:\n- a\n-  b\n- [c, {d: e}]\n",
    "x: !!int abc\n",
    "a: [1, 2\n",
    "a: \x01\n",
]


@pytest.mark.parametrize("text", FAST_AND_SLOW)
def test_libyaml_path_reads_what_the_python_path_reads(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same data, marks, key marks, spans and errors with libyaml's composer as with PyYAML's own."""

    def read() -> object:
        try:
            doc = yamlfile.parse_text(text, Path("f.yml"))
        except SpecError as exc:
            return exc.format()
        return doc.data, doc.marks, doc.key_marks, doc.spans

    fast = read()
    monkeypatch.setattr(yamlfile, "_compose_fast", lambda _text: None)
    assert fast == read()
