"""The project file: environments, lazy ``${ENV}`` expansion, the default and ``GTMCHECK_ENV``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmcheck import project, secrets
from gtmcheck.errors import ConfigError, EnvVarError, SpecError

PROJECT = """\
version: 1
environments:
  sandbox:
    crm: {type: sandbox, scenario: gtmcheck/demo/healthy.yml}
    warehouse: {url: "duckdb:///gtmcheck/demo/warehouse.duckdb"}
  production:
    crm: {type: hubspot, token: "${GTMCHECK_TEST_HUBSPOT_TOKEN}"}
    warehouse: {url: "${GTMCHECK_TEST_WAREHOUSE_URL}"}
    writes: true
default_environment: sandbox
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (project.ENV_VAR, "GTMCHECK_TEST_HUBSPOT_TOKEN", "GTMCHECK_TEST_WAREHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    secrets.clear()


def make(tmp_path: Path, text: str = PROJECT) -> Path:
    path = tmp_path / project.PROJECT_FILE
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str = PROJECT) -> project.Project:
    make(tmp_path, text)
    return project.load_project(tmp_path)


def test_environments_and_default(tmp_path: Path) -> None:
    proj = load(tmp_path)
    assert proj.root == tmp_path.resolve()
    assert proj.environment_names == ["sandbox", "production"]
    env = proj.environment()
    assert env.name == "sandbox" and env.is_sandbox and not env.writes
    assert env.crm["scenario"] == "gtmcheck/demo/healthy.yml"
    assert env.site_scenario() == (tmp_path / "gtmcheck/demo/healthy.yml").resolve()
    assert proj.check_paths == ["checks"]


def test_lazy_expansion_missing_token_in_production(tmp_path: Path) -> None:
    proj = load(tmp_path)
    assert proj.environment("sandbox").name == "sandbox"  # production's missing token does not matter
    with pytest.raises(EnvVarError) as info:
        proj.environment("production")
    err = info.value
    assert "GTMCHECK_TEST_HUBSPOT_TOKEN" in err.message
    assert err.location is not None and (err.location.line, err.location.column) == (7, 34)


def test_production_with_its_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTMCHECK_TEST_HUBSPOT_TOKEN", "pat-na1-secret-token")
    monkeypatch.setenv("GTMCHECK_TEST_WAREHOUSE_URL", "postgresql://app:dbpassword1@db/x")
    proj = load(tmp_path)
    env = proj.environment("production")
    assert env.crm == {"type": "hubspot", "token": "pat-na1-secret-token"}
    assert env.writes and not env.is_sandbox and env.site_scenario() is None
    assert secrets.redact("pat-na1-secret-token dbpassword1") == "*** ***"
    # asking again gives the same answer: the file is not expanded twice
    assert proj.environment("production") == env


def test_literal_dollar_survives_repeated_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTMCHECK_TEST_HUBSPOT_TOKEN", "tok${NOT_A_VAR}en")
    proj = load(tmp_path, PROJECT.replace("duckdb:///gtmcheck", "duckdb:///$${x}"))
    for _ in range(2):
        assert proj.environment("sandbox").warehouse == {"url": "duckdb:///${x}/demo/warehouse.duckdb"}
    monkeypatch.setenv("GTMCHECK_TEST_WAREHOUSE_URL", "duckdb://")
    for _ in range(2):
        assert proj.environment("production").crm["token"] == "tok${NOT_A_VAR}en"


def test_unknown_environment_lists_the_defined_ones(tmp_path: Path) -> None:
    proj = load(tmp_path)
    with pytest.raises(ConfigError) as info:
        proj.environment("staging")
    assert "staging" in str(info.value)
    assert "sandbox" in str(info.value) and "production" in str(info.value)


def test_gtmcheck_env_selects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = load(tmp_path)
    monkeypatch.setenv(project.ENV_VAR, "production")
    with pytest.raises(EnvVarError):
        proj.environment()
    monkeypatch.setenv(project.ENV_VAR, "nowhere")
    with pytest.raises(ConfigError, match="nowhere"):
        proj.environment()
    assert proj.environment("sandbox").name == "sandbox"  # an explicit name wins


def test_first_environment_without_a_default(tmp_path: Path) -> None:
    proj = load(tmp_path, PROJECT.replace("default_environment: sandbox\n", ""))
    assert proj.default_environment is None
    assert proj.environment().name == "sandbox"


def test_undefined_default_environment(tmp_path: Path) -> None:
    make(tmp_path, PROJECT.replace("default_environment: sandbox", "default_environment: prod"))
    with pytest.raises(SpecError) as info:
        project.load_project(tmp_path)
    assert info.value.location is not None and info.value.location.line == 10
    assert "sandbox" in info.value.hint


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        (PROJECT.replace("token:", "tokn:"), (7, 26), "tokn"),
        (PROJECT.replace("type: hubspot", "type: hubspt"), (7, 17), "hubspt"),
        (PROJECT.replace("writes: true", "writes: yes"), (9, 13), "true or false"),
        (PROJECT.replace("version: 1", "version: 2"), (1, 10), "version"),
        (PROJECT.replace("version: 1\n", ""), (1, 1), "version"),
        ("version: 1\nenvironments: {}\n", (2, 15), "empty"),
        ("version: 1\nenvironments:\n  s:\n", (3, 5), "mapping"),
        ("version: 1\nenvironments: {s: {crm: {type: sandbox}}}\nchekcs: [a]\n", (3, 1), "chekcs"),
        ("- a\n", (1, 1), "mapping"),
        ("version: 1\nenvironments:\n\ts: {}\n", (3, 1), "invalid YAML"),
    ],
)
def test_bad_project_file(tmp_path: Path, text: str, position: tuple[int, int], needle: str) -> None:
    make(tmp_path, text)
    with pytest.raises(SpecError) as info:
        project.load_project(tmp_path)
    err = info.value
    assert err.location is not None
    assert (err.location.line, err.location.column) == position
    assert needle in str(err)


def test_find_project_file_walks_up(tmp_path: Path) -> None:
    path = make(tmp_path)
    deep = tmp_path / "checks" / "sub"
    deep.mkdir(parents=True)
    (deep / "x.gtm.yml").write_text("kind: utm\n", encoding="utf-8")
    assert project.find_project_file(deep) == path.resolve()
    assert project.find_project_file(deep / "x.gtm.yml") == path.resolve()
    assert project.load_project(deep).root == tmp_path.resolve()


def test_no_project_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "find_project_file", lambda start: None)
    proj = project.load_project(tmp_path)
    assert proj.doc is None and proj.environment_names == []
    env = proj.environment()
    assert env.name == "live" and env.web == {"type": "live"}
    with pytest.raises(ConfigError, match="sandbox"):
        proj.environment("sandbox")


def test_explicit_project_file_missing(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="project file not found"):
        project.load_project(project_file=tmp_path / "nope.yml")


def test_checklist_files(tmp_path: Path) -> None:
    proj = load(tmp_path)
    checks = tmp_path / "checks"
    (checks / "b").mkdir(parents=True)
    for name in ("b/z.gtm.yml", "a.gtm.yaml", "notes.yml", "b/readme.md"):
        (checks / name).write_text("", encoding="utf-8")
    found = [p.relative_to(checks).as_posix() for p in proj.checklist_files()]
    assert found == ["a.gtm.yaml", "b/z.gtm.yml"]
    with pytest.raises(SpecError, match="no such file"):
        list(proj.checklist_files([tmp_path / "missing"]))
