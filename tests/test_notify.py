"""``gtmcheck notify`` against a real local HTTP receiver: one digest per owner, once; resolved; suppression;
alert thresholds; secrets; GitHub issues; a failed delivery retried. Reports are written by the real writer."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_receiver import Receiver, running_receiver

from gtmcheck import secrets
from gtmcheck.cli import main
from gtmcheck.report.model import ItemResult, RunMeta, build_report
from gtmcheck.report.write import write_reports
from gtmcheck.spec import load_checklist

REPO = Path(__file__).resolve().parent.parent
ROUTING, RECONCILE = "routing", "reconcile"  # owners: mops@acme.example and revops@acme.example
MOPS, REVOPS = "mops@acme.example", "revops@acme.example"
SECRET_PATH = "services/T0001/B0002/s3cretPathToken"
SECRET_QUERY = "sig=Qm9vbXNlY3JldHF1ZXJ5"
REPORT_URL = "https://ci.acme.example/runs/42"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def write_night(folder: Path, day: int, failing: dict[tuple[str, str], tuple[str, str]],
                drifts: list[dict[str, Any]] | None = None, skip: tuple[str, ...] = ()) -> Path:
    """A report.json of a night (2026-12-``day``) through the real report writer.

    ``failing`` maps (checklist, DoD item id) to (status, message); every other DoD item of the two demo
    checklists passed. ``skip`` leaves checklists out of the run; ``drifts`` adds a failed BASELINE-DRIFT item.
    """
    checklists, results = {}, {}
    for name in (ROUTING, RECONCILE):
        if name in skip:
            continue
        checklist = load_checklist(REPO / "checks" / f"{name}.gtm.yml")
        checklists[checklist.display] = checklist
        items = []
        for position, dod in enumerate(checklist.dod):
            status, message = failing.get((name, dod.id), ("passed", ""))
            items.append(ItemResult(id=dod.id, dod=dod.id, text=dod.text, status=status, line=1, message=message,
                                    duration_s=1.5, position=position))
        if drifts is not None and name == RECONCILE:
            items.append(ItemResult(id="BASELINE-DRIFT", dod="BASELINE-DRIFT", text="as signed off",
                                    status="failed" if drifts else "passed", line=1,
                                    message=f"{len(drifts)} drift(s)", details={"drifts": drifts} if drifts else None,
                                    position=99))
        results[checklist.display] = items
    meta = RunMeta(run_id=f"gtm-202612{day:02d}T041700-abc{day:03d}", environment="production",
                   started_at=f"2026-12-{day:02d}T04:17:00Z", duration_s=30.0)
    out = folder / f"night-{day}"
    write_reports(build_report(checklists, results, {}, meta), out)
    return out


FAILS = {
    (ROUTING, "ROUTING-FALLBACK-OWNER"): ("failed", "fallback owner inbound-queue@acme.example is deactivated"),
    (ROUTING, "ROUTING-ALERTS"): ("failed", "default queue holds 14 leads, oldest 3h (max 10, 1h); took 2.3 s"),
    (RECONCILE, "RECONCILE-TOTALS"): ("failed", "expected 428000 ARR (warehouse), received 391000 ARR (CRM)"),
}


def notify(tmp_path: Path, report: Path, *to: str, extra: tuple[str, ...] = ()) -> int:
    args = ["notify", "--report", str(report), "--state", str(tmp_path / "state.json"), "--report-url", REPORT_URL]
    for dest in to:
        args += ["--to", dest]
    return main([*args, *extra])


def test_one_digest_per_owner_then_nothing_then_resolved(tmp_path: Path, receiver: Receiver,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    hook, slack = f"webhook:{receiver.url}/hook", f"slack:{receiver.url}/slack"
    # night 1: three failures, two owners -> one digest each, per destination
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), hook, slack) == 0
    hooks = {b["owner"]: b for b in receiver.bodies("/hook")}
    assert sorted(hooks) == [MOPS, REVOPS] and len(receiver.bodies("/hook")) == 2
    assert sorted(f["item"] for f in hooks[MOPS]["new"]) == ["ROUTING-ALERTS", "ROUTING-FALLBACK-OWNER"]
    assert [f["item"] for f in hooks[REVOPS]["new"]] == ["RECONCILE-TOTALS"]
    assert hooks[REVOPS]["new"][0]["message"].startswith("expected 428000 ARR")
    assert hooks[MOPS]["changed"] == hooks[MOPS]["resolved"] == [] and hooks[MOPS]["report_url"] == REPORT_URL
    slacks = receiver.bodies("/slack")
    assert len(slacks) == 2
    mops = next(s for s in slacks if MOPS in s["text"])
    assert "2 new" in mops["text"] and REPORT_URL in mops["text"]
    blocks = json.dumps(mops["blocks"])
    assert "ROUTING-FALLBACK-OWNER" in blocks and "RECONCILE-TOTALS" not in blocks and REPORT_URL in blocks
    out = capsys.readouterr().out
    assert f"sent the digest for {MOPS} (2 new, 0 changed, 0 resolved)" in out

    # night 2: the same failures (other run, other timings) -> nothing sent
    receiver.clear()
    again = dict(FAILS)
    again[(ROUTING, "ROUTING-ALERTS")] = ("failed", "default queue holds 14 leads, oldest 3h (max 10, 1h); took 9.8 s")
    assert notify(tmp_path, write_night(tmp_path, 2, again), hook, slack) == 0
    assert receiver.requests == []
    assert capsys.readouterr().out.strip() == "nothing new"

    # night 3: the totals agree again -> revops hears "resolved", mops hears nothing
    cleared = {k: v for k, v in FAILS.items() if k[0] == ROUTING}
    assert notify(tmp_path, write_night(tmp_path, 3, cleared), hook, slack) == 0
    (body,) = receiver.bodies("/hook")
    assert body["owner"] == REVOPS and body["new"] == [] and body["changed"] == []
    assert [r["item"] for r in body["resolved"]] == ["RECONCILE-TOTALS"]
    (text,) = [s["text"] for s in receiver.bodies("/slack")]
    assert "1 resolved" in text and REVOPS in text

    # night 4: the totals fail again -> new again, for revops only
    receiver.clear()
    assert notify(tmp_path, write_night(tmp_path, 4, FAILS), hook) == 0
    (body,) = receiver.bodies("/hook")
    assert body["owner"] == REVOPS and [f["item"] for f in body["new"]] == ["RECONCILE-TOTALS"]


def test_a_different_failure_of_the_same_check_is_changed(tmp_path: Path, receiver: Receiver) -> None:
    hook = f"webhook:{receiver.url}/hook"
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), hook) == 0
    receiver.clear()
    worse = dict(FAILS)
    worse[(RECONCILE, "RECONCILE-TOTALS")] = ("failed", "expected 428000 ARR (warehouse), received 301000 ARR (CRM)")
    assert notify(tmp_path, write_night(tmp_path, 2, worse), hook) == 0
    (body,) = receiver.bodies("/hook")
    assert body["owner"] == REVOPS and body["new"] == [] and body["resolved"] == []
    assert "301000" in body["changed"][0]["message"]


def test_a_check_that_did_not_run_is_not_resolved(tmp_path: Path, receiver: Receiver,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    hook = f"webhook:{receiver.url}/hook"
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), hook) == 0
    receiver.clear()
    only_routing = {k: v for k, v in FAILS.items() if k[0] == ROUTING}
    assert notify(tmp_path, write_night(tmp_path, 2, only_routing, skip=(RECONCILE,)), hook) == 0
    assert receiver.requests == [] and "nothing new" in capsys.readouterr().out


def test_suppression_re_alerts_an_open_finding_once_per_interval(tmp_path: Path, receiver: Receiver) -> None:
    hook = f"webhook:{receiver.url}/hook"
    sent_on = []
    for day in range(1, 17):
        receiver.clear()
        assert notify(tmp_path, write_night(tmp_path, day, FAILS), hook, extra=("--suppress", "7d")) == 0
        if receiver.requests:
            sent_on.append(day)
    assert sent_on == [1, 8, 15]
    receiver.clear()
    write = write_night(tmp_path, 22, FAILS)
    assert notify(tmp_path, write, hook, extra=("--suppress", "7d")) == 0
    bodies = {b["owner"]: b for b in receiver.bodies("/hook")}
    assert bodies[REVOPS]["new"] == [] and [f["item"] for f in bodies[REVOPS]["still_failing"]] == ["RECONCILE-TOTALS"]


def test_without_suppress_an_open_finding_is_never_re_alerted(tmp_path: Path, receiver: Receiver) -> None:
    hook = f"webhook:{receiver.url}/hook"
    for day in (1, 9, 20):
        receiver.clear()
        assert notify(tmp_path, write_night(tmp_path, day, FAILS), hook) == 0
        assert bool(receiver.requests) == (day == 1)


def test_alert_after_two_holds_the_first_night(tmp_path: Path, receiver: Receiver) -> None:
    hook = f"webhook:{receiver.url}/hook"
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), hook, extra=("--alert-after", "2")) == 0
    assert receiver.requests == []
    state = json.loads((tmp_path / "state.json").read_text())
    assert {r["consecutive"] for r in state["findings"].values()} == {1}
    assert all(r["last_alerted"] is None for r in state["findings"].values())
    assert notify(tmp_path, write_night(tmp_path, 2, FAILS), hook, extra=("--alert-after", "2")) == 0
    assert sorted(b["owner"] for b in receiver.bodies("/hook")) == [MOPS, REVOPS]


def test_one_night_of_errors_never_alerts_two_do(tmp_path: Path, receiver: Receiver,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    hook = f"webhook:{receiver.url}/hook"
    errors = {(RECONCILE, "RECONCILE-TOTALS"): ("error", "HubSpot answered 503 Service Unavailable (after 5 tries)")}
    assert notify(tmp_path, write_night(tmp_path, 1, errors), hook) == 0
    assert receiver.requests == [] and "nothing new" in capsys.readouterr().out
    assert notify(tmp_path, write_night(tmp_path, 2, {}), hook) == 0  # it cleared: a transient, never told
    assert receiver.requests == []
    assert notify(tmp_path, write_night(tmp_path, 3, errors), hook) == 0
    assert receiver.requests == []
    assert notify(tmp_path, write_night(tmp_path, 4, errors), hook) == 0  # two nights running: worth knowing
    (body,) = receiver.bodies("/hook")
    assert body["owner"] == REVOPS and body["new"][0]["status"] == "error"


def test_each_drift_is_a_finding_routed_to_its_owner(tmp_path: Path, receiver: Receiver) -> None:
    hook = f"webhook:{receiver.url}/hook"
    drifts = [
        {"path": "owners/anna@acme.example/active", "was": True, "is": False, "since": "2026-11-30",
         "owner": MOPS, "message": "owner anna@acme.example was deactivated"},
        {"path": "properties/contacts/lead_source_detail/options", "was": ["webinar"], "is": ["webinars"],
         "since": "2026-11-29", "owner": REVOPS, "message": "option webinar renamed to webinars"},
    ]
    assert notify(tmp_path, write_night(tmp_path, 1, {}, drifts=drifts), hook) == 0
    bodies = {b["owner"]: b for b in receiver.bodies("/hook")}
    assert [f["item"] for f in bodies[MOPS]["new"]] == ["owners/anna@acme.example/active"]
    assert "deactivated" in bodies[MOPS]["new"][0]["message"] and "2026-11-30" in bodies[MOPS]["new"][0]["message"]
    assert [f["item"] for f in bodies[REVOPS]["new"]] == ["properties/contacts/lead_source_detail/options"]
    receiver.clear()
    assert notify(tmp_path, write_night(tmp_path, 2, {}, drifts=drifts[1:]), hook) == 0
    (body,) = receiver.bodies("/hook")  # anna is active again: mops hears it resolved, revops nothing new
    assert body["owner"] == MOPS and [r["item"] for r in body["resolved"]] == ["owners/anna@acme.example/active"]


def test_the_webhook_url_never_shows(tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str],
                                     caplog: pytest.LogCaptureFixture) -> None:
    secrets.clear()
    url = f"{receiver.url}/{SECRET_PATH}?{SECRET_QUERY}"
    caplog.set_level(logging.DEBUG)
    report = write_night(tmp_path, 1, FAILS)
    assert notify(tmp_path, report, f"slack:{url}", f"webhook:{url}", extra=("--dry-run",)) == 0
    dry = capsys.readouterr()
    assert f"slack:{receiver.url}/***" in dry.out and "FAILED" in dry.out
    assert notify(tmp_path, report, f"slack:{url}", f"webhook:{url}") == 0
    assert len(receiver.requests) == 4  # two owners, two destinations: the secret URL was used
    sent = capsys.readouterr()
    assert f"webhook:{receiver.url}/***" in sent.out
    receiver.fail_with = 500
    assert notify(tmp_path, write_night(tmp_path, 3, {}), f"webhook:{url}") == 1  # resolved, not delivered
    failed = capsys.readouterr()
    assert "HTTP 500" in failed.err
    everything = "\n".join([dry.out, dry.err, sent.out, sent.err, failed.out, failed.err, caplog.text,
                            (tmp_path / "state.json").read_text(),
                            *(p.read_text() for p in tmp_path.rglob("report.*"))])
    for part in (SECRET_PATH, "s3cretPathToken", "Qm9vbXNlY3JldHF1ZXJ5", url):
        assert part not in everything


def test_a_failed_delivery_exits_1_and_leaves_the_state(tmp_path: Path, receiver: Receiver,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    hook = f"webhook:{receiver.url}/hook"
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), hook) == 0
    before = (tmp_path / "state.json").read_bytes()
    receiver.fail_with = 500  # night 2: revops' totals resolve and mops has one more failure; neither gets through
    night2 = {k: v for k, v in FAILS.items() if k[0] == ROUTING}
    night2[(ROUTING, "ROUTING-VOLUME-TEST")] = ("failed", "3 of 50 leads misrouted")
    assert notify(tmp_path, write_night(tmp_path, 2, night2), hook) == 1
    err = capsys.readouterr().err
    assert f"digest for {REVOPS} not delivered" in err and f"digest for {MOPS} not delivered" in err
    assert "HTTP 500" in err
    assert (tmp_path / "state.json").read_bytes() == before
    receiver.fail_with, receiver.requests[:] = None, []
    assert notify(tmp_path, write_night(tmp_path, 3, night2), hook) == 0  # the next night both go out
    bodies = {b["owner"]: b for b in receiver.bodies("/hook")}
    assert [f["item"] for f in bodies[MOPS]["new"]] == ["ROUTING-VOLUME-TEST"]
    assert [r["item"] for r in bodies[REVOPS]["resolved"]] == ["RECONCILE-TOTALS"]


def test_an_unreachable_destination_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_receiver() as gone:
        url = gone.url
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), f"webhook:{url}/hook") == 1
    err = capsys.readouterr().err
    assert "not reachable" in err and f"webhook:{url}/***" in err
    assert json.loads((tmp_path / "state.json").read_text())["findings"] == {}  # nothing told: nothing remembered


def test_github_issue_per_owner(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_notifyTestToken123")
    to = ("github:acme/gtm-alerts",)
    extra = ("--github-api-url", f"{receiver.url}/api/v3")
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), *to, extra=extra) == 0
    created = [r for r in receiver.requests if r.method == "POST"]
    assert [r.path for r in created] == ["/api/v3/repos/acme/gtm-alerts/issues"] * 2
    for request in created:
        assert request.headers["authorization"] == "Bearer ghs_notifyTestToken123"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.body["labels"] == ["gtmcheck"]
    titles = {r.body["title"]: r.body["body"] for r in created}
    assert sorted(titles) == [f"gtmcheck: open findings for {MOPS}", f"gtmcheck: open findings for {REVOPS}"]
    assert "RECONCILE-TOTALS" in titles[f"gtmcheck: open findings for {REVOPS}"]
    assert REPORT_URL in titles[f"gtmcheck: open findings for {REVOPS}"]
    state = json.loads((tmp_path / "state.json").read_text())
    assert sorted(state["github_issues"]["acme/gtm-alerts"].values()) == [100, 101]
    assert "ghs_notifyTestToken123" not in capsys.readouterr().out + (tmp_path / "state.json").read_text()

    receiver.clear()  # revops' totals clear: a comment on its issue, then the issue is closed
    cleared = {k: v for k, v in FAILS.items() if k[0] == ROUTING}
    assert notify(tmp_path, write_night(tmp_path, 2, cleared), *to, extra=extra) == 0
    revops = state["github_issues"]["acme/gtm-alerts"][REVOPS]
    assert [(r.method, r.path) for r in receiver.requests] == [
        ("POST", f"/api/v3/repos/acme/gtm-alerts/issues/{revops}/comments"),
        ("PATCH", f"/api/v3/repos/acme/gtm-alerts/issues/{revops}"),
    ]
    assert "RESOLVED" in receiver.requests[0].body["body"] and receiver.requests[1].body["state"] == "closed"


def test_github_needs_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), "github:acme/gtm-alerts") == 2
    err = capsys.readouterr().err
    assert "GITHUB_TOKEN" in err and "Fix:" in err and "Traceback" not in err


def test_settings_from_gtmcheck_yml_with_env(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "gtmcheck.yml"
    project.write_text(
        "version: 1\n"
        "environments:\n  sandbox: {crm: {type: sandbox}}\n"
        "notify:\n"
        "  to: [\"webhook:${GTM_TEST_HOOK}\"]\n"
        "  alert_after: 2\n"
        "  suppress: 7d\n"
        f"  report_url: {REPORT_URL}\n"
        "  state: .gtmcheck/notify-state.json\n"
    )
    report = write_night(tmp_path, 1, FAILS)
    monkeypatch.delenv("GTM_TEST_HOOK", raising=False)
    assert main(["notify", "--project", str(project), "--report", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"{project}:5:" in err and "GTM_TEST_HOOK is not set" in err
    monkeypatch.setenv("GTM_TEST_HOOK", f"{receiver.url}/{SECRET_PATH}")
    assert main(["notify", "--project", str(project), "--report", str(report)]) == 0  # alert_after: 2 holds it
    assert receiver.requests == [] and (tmp_path / ".gtmcheck" / "notify-state.json").is_file()
    assert main(["notify", "--project", str(project), "--report", str(write_night(tmp_path, 2, FAILS))]) == 0
    bodies = receiver.bodies(f"/{SECRET_PATH}")
    assert len(bodies) == 2 and bodies[0]["report_url"] == REPORT_URL
    assert SECRET_PATH not in capsys.readouterr().out


def test_an_unknown_notify_key_is_refused_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "gtmcheck.yml"
    project.write_text("version: 1\nenvironments:\n  sandbox: {crm: {type: sandbox}}\nnotify:\n  every: 1d\n")
    assert main(["notify", "--project", str(project), "--report", str(tmp_path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"{project}:5:" in err and "every" in err


@pytest.mark.parametrize(("args", "expected"), [
    (["--to", "teams:https://example.invalid/x"], "is not a destination"),
    (["--to", "github:not a repo"], "is not OWNER/REPO"),
    (["--to", "slack:ftp://hooks.example/x"], "slack:ftp://hooks.example/*** is not an http(s) URL"),
    (["--to", "slack:"], "slack: is not an http(s) URL (empty: is its secret set?)"),
    (["--suppress", "weekly", "--dry-run"], "is not a duration"),
    (["--alert-after", "0", "--dry-run"], "is not a number of runs"),
    ([], "no destination"),
])
def test_bad_arguments_exit_2_with_a_fix(tmp_path: Path, args: list[str], expected: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    report = write_night(tmp_path, 1, FAILS)
    assert main(["notify", "--report", str(report), "--state", str(tmp_path / "s.json"), *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Fix:" in err and "Traceback" not in err


def test_missing_report_and_broken_state_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notify", "--report", str(tmp_path / "nowhere"), "--dry-run"]) == 2
    assert "file not found" in capsys.readouterr().err
    (tmp_path / "state.json").write_text("{not json")
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), extra=("--dry-run",)) == 2
    err = capsys.readouterr().err
    assert "state.json" in err and "not a gtmcheck notify state file" in err and "Fix:" in err


def test_dry_run_prints_digests_and_keeps_no_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert notify(tmp_path, write_night(tmp_path, 1, FAILS), extra=("--dry-run",)) == 0
    out = capsys.readouterr().out
    assert out.count("--- digest for ") == 2 and "gtmcheck (production): 2 new, 0 changed, 0 resolved for " \
        f"{MOPS}" in out
    assert "FAILED checks/reconcile.gtm.yml RECONCILE-TOTALS: expected 428000 ARR" in out
    assert not (tmp_path / "state.json").exists()


RUN_PROJECT = """\
version: 1
environments:
  local: {crm: {type: sandbox}, web: {type: live}}
default_environment: local
notify:
  to: ["webhook:${GTM_TEST_RUN_HOOK}"]
  report_url: https://ci.acme.example/runs/7
"""

UNSIGNED_CRM = """\
kind: crm
name: CRM build-out
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}
"""


def test_run_notify_sends_after_the_run(tmp_path: Path, receiver: Receiver) -> None:
    """`gtmcheck run --notify --recheck`: the run's own exit code, then a digest per owner from gtmcheck.yml."""
    (tmp_path / "gtmcheck.yml").write_text(RUN_PROJECT)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "crm.gtm.yml").write_text(UNSIGNED_CRM)
    env = {**os.environ, "GTM_TEST_RUN_HOOK": f"{receiver.url}/{SECRET_PATH}"}
    command = [sys.executable, "-m", "gtmcheck.cli", "run", "-k", "SIGNOFF", "--recheck", "--notify", "-q"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 1, first.stderr  # the failed check's exit code stands
    (body,) = receiver.bodies(f"/{SECRET_PATH}")
    assert body["owner"] == MOPS and [f["item"] for f in body["new"]] == ["CRM-SIGNOFF"]
    assert body["report_url"] == "https://ci.acme.example/runs/7"
    report = json.loads((tmp_path / "gtmcheck-report" / "report.json").read_text())
    (item,) = [i for c in report["checklists"] for i in c["items"] if i["id"] == "CRM-SIGNOFF"]
    assert item["recheck"] == "failed twice"
    assert (tmp_path / ".gtmcheck" / "notify-state.json").is_file()
    assert SECRET_PATH not in first.stdout + first.stderr
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 1 and "nothing new" in second.stdout
    assert len(receiver.bodies(f"/{SECRET_PATH}")) == 1


def test_a_long_digest_fits_slack_limits() -> None:
    """Slack refuses a message over 50 blocks or a section over 3000 characters: a long digest is cut, and says so."""
    from gtmcheck.notify.findings import Finding
    from gtmcheck.notify.plan import Digest
    from gtmcheck.notify.render import slack_payload

    findings = [Finding(f"fp{i}", f"k{i}", MOPS, "checks/utm.gtm.yml", f"UTM-URLS-RESOLVE[url-{i}]", "UTM-URLS-RESOLVE",
                        "failed", "<https://evil.example|click> " + "x" * 600) for i in range(400)]
    payload = slack_payload(Digest(MOPS, new=findings, open=400), "production", REPORT_URL)
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    shown = sum(b["text"]["text"].count("\n• ") for b in blocks if b["type"] == "section")
    assert 0 < shown < 400
    assert f"{400 - shown} more not shown here" in blocks[-1]["elements"][0]["text"]
    assert "<https://evil.example" not in json.dumps(blocks) and "&lt;https://evil.example" in json.dumps(blocks)


def test_real_sandbox_nights_drifted_twice_then_healthy(tmp_path: Path, receiver: Receiver) -> None:
    """Real runs of the demo stacks: the drifted one alerts each owner once, again nothing, the healthy one resolves."""
    hook = f"webhook:{receiver.url}/hook"

    def night(env: str, name: str) -> Path:
        out = tmp_path / name
        run = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "-m", "reconcile or utm",
                              "--report-dir", str(out), "-q"], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert run.returncode in (0, 1), run.stderr
        return out

    assert notify(tmp_path, night("sandbox-drifted", "n1"), hook) == 0
    first = {b["owner"]: b for b in receiver.bodies("/hook")}
    assert sorted(first) == [MOPS, REVOPS]  # utm is mops', reconcile revops'
    assert any(f["item"] == "RECONCILE-TOTALS[closed-won]" for f in first[REVOPS]["new"])
    assert all(f["checklist"] == "checks/utm.gtm.yml" for f in first[MOPS]["new"])
    receiver.clear()
    assert notify(tmp_path, night("sandbox-drifted", "n2"), hook) == 0  # another run, other ids: the same findings
    assert receiver.requests == []
    assert notify(tmp_path, night("sandbox", "n3"), hook) == 0
    resolved = {b["owner"]: b for b in receiver.bodies("/hook")}
    assert sorted(resolved) == [MOPS, REVOPS]
    for owner in (MOPS, REVOPS):
        assert resolved[owner]["new"] == [] and len(resolved[owner]["resolved"]) == len(first[owner]["new"])


def test_the_same_report_twice_sends_once_and_counts_once(tmp_path: Path, receiver: Receiver,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    hook = f"webhook:{receiver.url}/hook"
    report = write_night(tmp_path, 1, FAILS)
    assert notify(tmp_path, report, hook, extra=("--alert-after", "2")) == 0
    assert notify(tmp_path, report, hook, extra=("--alert-after", "2")) == 0  # a rerun of the step, same run id
    assert receiver.requests == []  # still one failing run, not two
    assert notify(tmp_path, report, hook) == 0
    assert len(receiver.bodies("/hook")) == 2
    receiver.clear()
    assert notify(tmp_path, report, hook) == 0
    assert receiver.requests == [] and capsys.readouterr().out.endswith("nothing new\n")


def test_github_finds_the_owners_issue_when_the_state_is_lost(tmp_path: Path, receiver: Receiver,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A new cache (no state): the owner's open issue is found by label and title and commented on, not doubled."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_notifyTestToken123")
    receiver.issues.append({"number": 41, "title": f"gtmcheck: open findings for {REVOPS}", "state": "open"})
    only_revops = {k: v for k, v in FAILS.items() if k[0] == RECONCILE}
    extra = ("--github-api-url", f"{receiver.url}/api/v3")
    assert notify(tmp_path, write_night(tmp_path, 1, only_revops), "github:acme/gtm-alerts", extra=extra) == 0
    assert [(r.method, r.path.split("?")[0]) for r in receiver.requests] == [
        ("GET", "/api/v3/repos/acme/gtm-alerts/issues"),
        ("POST", "/api/v3/repos/acme/gtm-alerts/issues/41/comments"),
    ]
    assert "labels=gtmcheck" in receiver.requests[0].path and "state=open" in receiver.requests[0].path
