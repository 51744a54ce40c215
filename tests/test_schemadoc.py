"""The reference pages in docs/ are generated from the schemas the code validates with, and cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gtmcheck import schemadoc
from gtmcheck.cli import main
from gtmcheck.errors import SpecError
from gtmcheck.kinds.routing.kind import SCHEMA as ROUTING_SCHEMA
from gtmcheck.sandbox.scenario import SCENARIO_SCHEMA, Scenario
from gtmcheck.yamlfile import load

PAGES = [
    ("routing-reference.md", ["schema", "--kind", "routing", "--format", "markdown"]),
    ("sandbox-scenario.md", ["schema", "--scenario", "--format", "markdown"]),
]


@pytest.mark.parametrize(("page", "command"), PAGES)
def test_committed_reference_pages_equal_the_generated_output(
    repo: Path, page: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 0
    assert (repo / "docs" / page).read_text() == capsys.readouterr().out, (
        f"docs/{page} is stale: run `gtmcheck {' '.join(command)} > docs/{page}`"
    )


@pytest.mark.parametrize(
    "schema", [{"type": "object", "properties": ROUTING_SCHEMA}, SCENARIO_SCHEMA], ids=["routing", "scenario"]
)
def test_every_key_has_a_description_a_default_and_an_example_that_validates(schema: dict[str, Any]) -> None:
    assert schemadoc.gaps(schema) == []


def test_every_routing_and_scenario_key_is_on_its_page(repo: Path) -> None:
    for page, schema in (("routing-reference.md", {"type": "object", "properties": ROUTING_SCHEMA}),
                         ("sandbox-scenario.md", SCENARIO_SCHEMA)):
        text = (repo / "docs" / page).read_text()
        names = [e.name for e in schemadoc.entries(schema)]
        assert len(names) > 30
        for name in names:
            assert f"`{name}`\n" in text, f"{name} is not documented in docs/{page}"
    scenario = (repo / "docs" / "sandbox-scenario.md").read_text()
    for key in ("knobs.search_lag_ms", "knobs.rate_limit.per_10s", "overrides.deals.<id>.<property>",
                "routing.rules[].when.<property>", "site.redirects[].keep_query", "owners[].active"):
        assert f"### `{key}`" in scenario


def test_gaps_name_what_a_schema_does_not_say() -> None:
    schema = {
        "type": "object",
        "properties": {
            "retries": {"type": "integer", "minimum": 0, "default": -1, "description": "How often.",
                        "examples": [3]},
            "mode": {"enum": ["fast", "safe"], "examples": ["slow"], "x-default": "safe"},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Labels."},
        },
    }
    assert schemadoc.gaps(schema) == [
        "retries: the default does not validate",
        "mode: no description",
        "mode: the example 'slow' does not validate",
        "tags: no default (add `default` or `x-default`)",
        "tags: no example (add `examples`)",
        "tags.<key>: no description",
        "tags.<key>: no example (add `examples`)",
    ]


def test_an_entry_shows_type_default_allowed_values_and_a_pasteable_example() -> None:
    text = schemadoc.render(
        {"type": "object", "properties": {"lists": {
            "type": "object", "x-key-name": "list", "x-key-example": "vip", "x-default": "no lists",
            "description": "Named lists.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                     "description": "The values.", "examples": [["a.example"]]}}}},
        title="T", intro="I",
    )
    assert "### `lists.<list>`\n\nThe values.\n\n| type | default | allowed |\n|---|---|---|\n" \
           "| list of string | none (keys are your names) | at least 1 item |\n\n" \
           "```yaml\nlists:\n  vip: [a.example]\n```" in text
    assert "| [`lists`](#lists) | mapping of `<list>` → list of string | Named lists. |" in text


def test_the_scenario_schema_validates_the_demo_scenarios_for_editors(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert main(["schema", "--scenario"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    for name in ("healthy", "drifted"):
        assert not list(validator.iter_errors(load(repo / "gtmcheck" / "demo" / f"{name}.yml").data))
    assert list(validator.iter_errors({"knobs": {"search_lag": 5}}))


def test_markdown_needs_a_kind_or_the_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--format", "markdown"]) == 2
    assert "--kind KIND or --scenario" in capsys.readouterr().err


def test_a_typo_in_a_scenario_site_fails_when_the_scenario_loads(tmp_path: Path) -> None:
    """``site:`` is part of the scenario schema now, not only checked when a site is built from the file."""
    bad = tmp_path / "scenario.yml"
    bad.write_text("owners:\n  - {email: a@x.example}\nsite:\n  pages: [/spring]\n"
                   "  redirect:\n    - {from: /a, to: /b}\n")
    with pytest.raises(SpecError) as err:
        Scenario.load(bad)
    assert str(err.value.location) == f"{bad}:5:3"
    assert "unknown key 'redirect'" in str(err.value) and "redirects" in err.value.hint
