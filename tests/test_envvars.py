"""``${VAR}`` expansion and secret redaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gtmcheck import envvars, secrets, yamlfile
from gtmcheck.errors import EnvVarError


@pytest.fixture(autouse=True)
def _clean_secrets() -> Iterator[None]:
    secrets.clear()
    yield
    secrets.clear()


def doc_of(tmp_path: Path, text: str) -> yamlfile.Document:
    path = tmp_path / "doc.yml"
    path.write_text(text, encoding="utf-8")
    return yamlfile.load(path)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "alpha"}, "alpha"),
        ("x-${A}-y", {"A": "alpha"}, "x-alpha-y"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-}", {}, ""),
        ("${A:-fallback}", {"A": "set"}, "set"),
        ("${A:-fallback}", {"A": ""}, "fallback"),  # as in the shell: empty takes the default
        ("${A:-}", {"A": ""}, ""),  # empty allowed only when said so
        ("$${A}", {"A": "alpha"}, "${A}"),
        ("$${A} and ${A}", {"A": "alpha"}, "${A} and alpha"),
        ("cost: $5", {}, "cost: $5"),
        ("$A", {"A": "alpha"}, "$A"),  # only the braced form is a reference
        ("no dollar", {}, "no dollar"),
        ("${A}", {"A": "${B}"}, "${B}"),  # values are not expanded again
    ],
)
def test_expand_string(text: str, env: dict[str, str], expected: str) -> None:
    assert envvars.expand_string(text, env) == expected


@pytest.mark.parametrize("text", ["${}", "${1A}", "${A B}", "${A", "x ${A-b}", "${A:=b}"])
def test_malformed_reference(text: str) -> None:
    with pytest.raises(EnvVarError, match="malformed") as info:
        envvars.expand_string(text, {"A": "secret-value"})
    assert "$${" in info.value.hint


def test_missing_variable_at_its_line_without_any_value(tmp_path: Path) -> None:
    doc = doc_of(tmp_path, "a: 1\nwarehouse:\n  url: postgresql://u:${GTMCHECK_PW}@host/db\n")
    env = {"OTHER": "hunter2-other"}
    with pytest.raises(EnvVarError) as info:
        envvars.expand(doc, env=env)
    err = info.value
    assert "GTMCHECK_PW" in err.message and "not set" in err.message
    assert err.location is not None
    assert (err.location.line, err.location.column) == (3, 23)  # at the reference itself
    assert "hunter2" not in str(err)
    assert "GTMCHECK_PW" in err.hint


def test_expand_in_place_and_register_secrets(tmp_path: Path) -> None:
    doc = doc_of(tmp_path, "crm:\n  token: ${TOKEN}\nurl: ${URL}\nlist: ['${ITEM}', 3, null]\n")
    env = {"TOKEN": "pat-na1-1234abcd", "URL": "postgresql://app:s3cr3tpw@db.example/x", "ITEM": "item"}
    result = envvars.expand(doc, env=env)
    assert result is doc.data
    assert doc.data == {
        "crm": {"token": "pat-na1-1234abcd"},
        "url": "postgresql://app:s3cr3tpw@db.example/x",
        "list": ["item", 3, None],
    }
    assert secrets.redact("token=pat-na1-1234abcd") == "token=***"
    assert "s3cr3tpw" not in secrets.redact("connect s3cr3tpw")
    assert secrets.redact("item") == "***"  # every value from the environment is secret


def test_expanded_copy_leaves_the_document_alone(tmp_path: Path) -> None:
    doc = doc_of(tmp_path, "envs:\n  prod:\n    url: '$${literal}-${A}'\n")
    env = {"A": "x${B}y"}
    first = envvars.expanded(doc, ("envs", "prod"), env)
    second = envvars.expanded(doc, ("envs", "prod"), env)
    assert first == second == {"url": "${literal}-x${B}y"}
    assert doc.data["envs"]["prod"]["url"] == "$${literal}-${A}"


def test_expand_a_single_string_path(tmp_path: Path) -> None:
    doc = doc_of(tmp_path, "a:\n  b: ${A}\n")
    assert envvars.expand(doc, ("a", "b"), {"A": "value"}) == "value"
    assert doc.data == {"a": {"b": "value"}}


def test_short_values_are_not_registered() -> None:
    secrets.register("ab")
    assert secrets.redact("ab cd") == "ab cd"


def test_redact_url_passwords_and_bearer_tokens() -> None:
    assert secrets.redact("postgresql://user:pa55word@db/x") == "postgresql://user:***@db/x"
    assert secrets.redact("https://:tok@host") == "https://:***@host"
    assert secrets.redact("Authorization: Bearer eyJhbGciOi.J9.abc-_=") == "Authorization: Bearer ***"
    assert secrets.redact("bearer abc123") == "bearer ***"
    assert secrets.redact("") == ""
    assert secrets.redact("nothing secret here") == "nothing secret here"


def test_register_url_keeps_only_the_password() -> None:
    secrets.register("mysql://u:longpassword@h/db")
    assert secrets.redact("the password longpassword leaked") == "the password *** leaked"


def test_longest_secret_masked_first() -> None:
    secrets.register("abcd")
    secrets.register("abcdefgh")
    assert secrets.redact("abcdefgh") == "***"


def test_secret_keys_registered_even_without_env(tmp_path: Path) -> None:
    doc = doc_of(tmp_path, "token: ${A:-default-token-value}\n")
    envvars.expand(doc, env={})
    assert secrets.redact("default-token-value") == "***"


def test_set_but_empty_is_an_error_naming_the_variable() -> None:
    with pytest.raises(EnvVarError, match="HUBSPOT_TOKEN is set but empty"):
        envvars.expand_string("${HUBSPOT_TOKEN}", {"HUBSPOT_TOKEN": ""})

