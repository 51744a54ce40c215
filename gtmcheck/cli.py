"""The ``gtmcheck`` command: init, lint, run, notify, history, baseline, schema, rules, report, cleanup, ...

User errors are printed here, at the edge, as one ``file:line:column: message. Fix: hint`` line with exit
code 2 (4 for ``run``, which speaks pytest's exit codes). Nothing below this module prints or exits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__, secrets
from .about import DOCS_URL
from .baseline import BASELINE_DIR
from .dod import KINDS
from .errors import ConfigError, GtmcheckError, SpecError
from .findings import RULES, Finding, Severity, register
from .visible import visible

if TYPE_CHECKING:
    from .connectors.crm import Owner
    from .project import Environment, Project
    from .spec import Checklist

EXIT_USAGE = 4  # pytest's usage-error code, used by ``run``
DEFAULT_REPORT_DIR = "gtmcheck-report"

SPEC_INVALID = register(
    "GTM001", "spec.invalid", Severity.ERROR,
    "The file cannot be used: malformed YAML, unknown keys, wrong types, a missing file.",
    "fix the file as the message says; `gtmcheck schema` prints what is allowed",
    "Unusable input is reported at its line and makes `gtmcheck lint` exit 2, so nothing downstream "
    "runs on a checklist gtmcheck could not read.",
)


def _print(text: str, stream: TextIO | None = None) -> None:
    """Every line the CLI writes: secrets redacted, control and bidi characters shown, never obeyed."""
    print(visible(secrets.redact(text), keep="\n"), file=stream or sys.stdout)


def _error(text: str) -> None:
    _print(f"gtmcheck: error: {text}", sys.stderr)


# --- lint ---------------------------------------------------------------------------------------------


def cmd_lint(args: argparse.Namespace) -> int:
    from .linter import CHECKLIST_PATTERNS, lint_paths
    from .lintformat import format_findings
    from .project import load_project

    paths = [Path(p) for p in args.paths]
    project = load_project()  # its `lint:` section, when there is a gtmcheck.yml; lint works without one
    if not paths:
        paths = [project.root / p for p in project.check_paths]
    owners = _CrmOwners(project, args.env) if args.env else None
    result = lint_paths(paths, extra=owners, config=project.lint, notes=args.format == "text",
                        max_age=project.governance.max_age)
    findings = list(result.findings)
    for err in result.errors:
        loc = err.location
        if loc is None:
            continue
        findings.append(SPEC_INVALID.finding(loc, err.message, hint=err.hint))
    findings.sort(key=Finding.sort_key)
    output = format_findings(findings, args.format, tool_version=__version__)
    if args.output:
        Path(args.output).write_text(secrets.redact(output) + ("" if output.endswith("\n") else "\n"))
    else:
        _print(output.rstrip("\n"))
    if args.format == "text" and result.notes:  # the lead budget: text only, JSON and SARIF stay findings
        _print("\n".join(result.notes))
    if args.format == "text" and result.suppressed:
        _print(f"{len(result.suppressed)} finding(s) silenced by `# gtmcheck: ignore` comments.", sys.stderr)
    if result.files == 0 and not result.errors:  # on stderr: a JSON or SARIF consumer still gets valid output
        _error(f"no checklists found (looked for {CHECKLIST_PATTERNS} in {', '.join(map(str, paths)) or 'nothing'})"
               ". Fix: name a checklist file or a folder that holds some")
    return result.exit_code(Severity.parse(args.fail_on))


LINT_RETRY_ATTEMPTS = 3  # lint asks the CRM once and moves on: not the minute of backoff a check run allows


class _CrmOwners:
    """``lint --env``: the CRM's owners, fetched once at the first routing checklist, checked by ROUTE2xx.

    An unknown environment name is a usage error at once; a CRM that cannot be configured (a missing
    ``${TOKEN}``) or reached is one line on stderr, and the lint carries on offline.
    """

    def __init__(self, project: Project, name: str) -> None:
        from .errors import EnvVarError

        self.name = name
        self.environment: Environment | None = None
        self.problem: str | None = None
        try:
            self.environment = project.environment(name)  # ConfigError (unknown name) goes up: exit 2
        except EnvVarError as exc:
            self.problem = f"is not configured ({exc.message})"
        self.fetched = False
        self.owners: list[Owner] | None = None

    def __call__(self, checklist: Checklist) -> list[Finding]:
        from .kinds.routing.owners import lint_owners

        if checklist.kind != "routing":
            return []
        if not self.fetched:
            self.fetched = True
            self.owners = self._fetch()
        return [] if self.owners is None else lint_owners(checklist, self.owners)

    def _fetch(self) -> list[Owner] | None:
        from .connectors import crm_for
        from .errors import ConnectorError

        if self.environment is not None:
            try:
                from .connectors.http import RetryPolicy

                # fewer, shorter retries than a check run's: lint is interactive
                crm = crm_for(self.environment, retry=RetryPolicy(max_attempts=LINT_RETRY_ATTEMPTS, max_delay=2.0,
                                                                  max_retry_after=10.0))
                try:
                    return crm.owners()
                finally:
                    crm.close()
            except (ConnectorError, OSError) as exc:
                self.problem = f"is not reachable ({exc})"
            except (ConfigError, SpecError) as exc:
                self.problem = f"is not configured ({exc.message if isinstance(exc, SpecError) else exc})"
        _print(f"gtmcheck lint: the CRM of environment {self.name!r} {self.problem}; owner checks skipped",
               sys.stderr)
        return None


# --- run ----------------------------------------------------------------------------------------------


def pytest_args(args: argparse.Namespace, paths: list[str], report_dir: Path, env: str) -> list[str]:
    """The pytest command line ``gtmcheck run`` stands for (shown with ``--dry-run``)."""
    argv = [
        *paths,
        "--gtm-env", env,
        "--gtm-report-dir", str(report_dir),
        "--junitxml", str(report_dir / "junit.xml"),
        "-c", os.devnull,  # the checklists' run must not pick up a repository's own pytest settings
        "--rootdir", str(args.rootdir),
        "-p", "no:cacheprovider",
        "--continue-on-collection-errors",  # one broken checklist must not hide the others
        "-o", "junit_family=xunit1",  # keeps per-test <properties> (dod_item, owner) schema-valid
        "-o", "console_output_style=count",
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "gtmcheck.plugin"]
    argv.append("-q" if args.quiet else "-v")
    if args.k:
        argv += ["-k", args.k]
    if args.m:
        argv += ["-m", args.m]
    if args.gtm_traceback:
        argv.append("--gtm-traceback")
    if getattr(args, "read_only", False):
        argv.append("--gtm-read-only")
    if args.require_go_live:  # the plugin's gate: plain pytest with the option fails the same way
        argv.append("--gtm-require-go-live")
    if args.project:
        argv += ["--gtm-project", str(args.project)]
    if args.exitfirst:
        argv.append("-x")
    if args.recheck:
        argv.append("--gtm-recheck")
    if args.recheck_delay is not None:
        argv += ["--gtm-recheck-delay", str(args.recheck_delay)]
    if getattr(args, "no_history", False):
        argv.append("--gtm-no-history")
    return argv + list(args.pytest_args)


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from .project import load_project

    project = load_project(project_file=Path(args.project) if args.project else None)
    try:
        # the name only: what the environment lacks for the collected checks is said by the plugin, once each
        env_name = project.environment_name(args.env)
    except (ConfigError, SpecError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    args.rootdir = project.root
    paths = args.paths or [str(project.root / p) for p in project.check_paths]
    report_dir = Path(args.report_dir).resolve()
    argv = pytest_args(args, paths, report_dir, env_name)
    if args.dry_run:
        _print("pytest " + " ".join(argv))
        return 0
    _print(f"gtmcheck {__version__}: checking environment {env_name!r} ({len(paths)} path(s))", sys.stderr)
    code = int(pytest.main(argv))
    report_file = report_dir / "report.json"
    if code != EXIT_USAGE and report_file.is_file():  # on a usage error nothing ran: a report there is older
        summary = json.loads(report_file.read_text())["summary"]
        verdict = "READY" if summary["go_live"] else "BLOCKED"
        where = f" ({visible(summary['environment'])})" if summary.get("environment") else ""
        selected = " of the selected" if summary.get("partial") else " of"
        left_out = f", {summary['not_selected']} not selected" if summary.get("not_selected") else ""
        _print(
            f"Go-live: {verdict}{where} — {summary['completeness']}%{selected} DoD items done; "
            f"{summary['passed']} passed, {summary['failed']} failed, {summary['error']} error, "
            f"{summary['attested']} attested, {summary['not_configured']} not configured{left_out}. "
            f"Report: {report_dir / 'report.html'}",
            sys.stderr,
        )
        if args.require_go_live and code == 0 and not summary["go_live"]:
            for reason in summary["blocking"][:10]:
                _print(f"  blocking: {visible(reason)}", sys.stderr)
            code = 1
        if args.notify:  # the project's notify settings, on the report just written
            sent = _notify(project, report_dir, argparse.Namespace(to=None, state=None, suppress=None,
                                                                   alert_after=None, report_url=None, dry_run=False,
                                                                   github_api_url=None))
            code = code or sent  # a failed check's 1 (or an interrupt's 2) stands; else whether delivery worked
    return code


# --- notify -------------------------------------------------------------------------------------------


def cmd_notify(args: argparse.Namespace) -> int:
    from .project import load_project

    project = load_project(project_file=Path(args.project) if args.project else None)
    return _notify(project, Path(args.report), args)


def _notify(project: Project, report: Path, args: argparse.Namespace) -> int:
    """Merge gtmcheck.yml's ``notify:`` with the command line (which wins, option by option) and notify."""
    from .notify.command import NotifyRequest, run_notify
    from .notify.plan import Policy
    from .notify.settings import project_settings, suppress_seconds
    from .notify.state import DEFAULT_STATE

    secrets.install_log_redaction()  # httpx logs each request's URL: a webhook's secret path must not reach a log
    settings = project_settings(project)
    to, where = (list(args.to), []) if args.to else (settings.to, settings.to_locations)
    suppress = suppress_seconds(args.suppress, None) if args.suppress else settings.suppress
    alert_after = args.alert_after if args.alert_after is not None else settings.alert_after
    if alert_after < 1:
        raise SpecError(f"{alert_after} is not a number of runs", None, "give --alert-after 1 or more")
    request = NotifyRequest(
        report=report,
        state=Path(args.state) if args.state else settings.state or project.root / DEFAULT_STATE,
        to=to,
        to_locations=where,
        policy=Policy(alert_after=alert_after, suppress=suppress),
        report_url=args.report_url or settings.report_url,
        dry_run=args.dry_run,
        github_api_url=args.github_api_url,
    )
    return run_notify(request, _print, lambda line: _print(line, sys.stderr))


# --- schema, rules, report -----------------------------------------------------------------------------


def cmd_schema(args: argparse.Namespace) -> int:
    if args.format == "markdown":
        from . import schemadoc

        if not (args.kind or args.scenario):
            _error("--format markdown needs --kind KIND or --scenario. Fix: add one, e.g. `--kind routing`")
            return 2
        _print(schemadoc.scenario_page() if args.scenario else schemadoc.kind_page(args.kind))
        return 0
    if args.scenario:
        from .sandbox.scenario import SCENARIO_SCHEMA

        _print(json.dumps(SCENARIO_SCHEMA, indent=2))
        return 0
    if args.kind:
        from .kinds import get_kind

        _print(json.dumps(get_kind(args.kind).validation_schema, indent=2))
        return 0
    if args.report:
        from .report.schema import report_schema

        _print(json.dumps(report_schema(), indent=2))
        return 0
    if args.project:
        from .project import CRM_TYPES
        from .ruleset import rules_section_schema
        from .schema import project_schema

        schema: dict[str, Any] = project_schema(CRM_TYPES, rules_section_schema())
    else:
        from .kinds import published_schema

        schema = published_schema()
    _print(json.dumps(schema, indent=2))
    return 0


def rules_markdown() -> str:
    """The rule reference, built from the registry (docs/rules.md is this output)."""
    _load_all_rules()
    from .lintconfig import MARKDOWN

    lines = ["# Lint rules", "", "Generated by `gtmcheck rules --format markdown`; do not edit by hand.", "",
             MARKDOWN, "## Rules", "",
             "| code | name | severity | what it finds | fix |", "|---|---|---|---|---|"]
    for rule in sorted(RULES.values(), key=lambda r: r.code):
        lines.append(f"| {rule.code} | `{rule.name}` | {rule.severity} | {rule.summary} | {rule.hint} |")
    lines.append("")
    for rule in sorted(RULES.values(), key=lambda r: r.code):
        if rule.doc:
            lines += [f"## {rule.code} `{rule.name}`", "", rule.doc, ""]
    return "\n".join(lines)


def _load_all_rules() -> None:
    from .ruleset import load_rules

    load_rules()  # importing governance and the kinds registers their rules (GTM002 with lintconfig)


def cmd_rules(args: argparse.Namespace) -> int:
    _load_all_rules()
    if args.format == "markdown":
        _print(rules_markdown())
        return 0
    for rule in sorted(RULES.values(), key=lambda r: r.code):
        _print(f"{rule.code}  {rule.name:<32} {rule.severity!s:<8} {rule.summary}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .errors import UnreadableFile
    from .report.html import render_html
    from .report.markdown import render_markdown
    from .report.schema import load_report

    path = Path(args.report)
    try:
        report = load_report(path)
    except UnreadableFile as exc:
        if exc.problem == "does not exist":
            exc.problem, exc.hint = "file not found", "run `gtmcheck run` first or give the path to report.json"
        _error(f"{path}: {exc.problem}. Fix: {exc.hint}")
        return 2
    from .report.write import redact_tree

    report = redact_tree(report)  # before rendering: the Markdown may be cut to fit a comment
    text = render_html(report) if args.format == "html" else render_markdown(report)
    if args.output:
        Path(args.output).write_text(secrets.redact(text), encoding="utf-8")
    else:
        _print(text)
    return 0


# --- history ------------------------------------------------------------------------------------------


def _can_show(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def cmd_history(args: argparse.Namespace) -> int:
    from .errors import HistoryError
    from .history.trends import build_trends
    from .history.view import render_json, render_text
    from .project import load_project

    project = load_project(project_file=Path(args.project) if args.project else None)
    settings = project.history
    if args.last < 1:
        _error(f"--last {args.last}: must be 1 or more. Fix: give a number of runs, e.g. --last 30")
        return 2
    if not settings.enabled:
        _error("the history is turned off in gtmcheck.yml (history: false). Fix: remove `history: false` and "
               "let runs append to it")
        return 2
    env_name = project.environment_name(args.env)
    warehouse = None
    if settings.store == "warehouse":
        warehouse = project.environment(env_name).warehouse
        if not (warehouse or {}).get("url") and project.doc is not None:
            raise SpecError(f"history: {{store: warehouse}} but environment {env_name!r} has no warehouse url",
                            project.doc.location(("history", "store")),
                            "add warehouse: {url: ...} to that environment, or keep the history in a file")
    elif not settings.file(project.root).is_file():
        _print(f"No history yet: {settings.file(project.root)} does not exist; every `gtmcheck run` that writes "
               "a report appends to it.")
        return 0
    try:
        store = settings.open(project.root, warehouse, env_name)
        try:
            trends = build_trends(store, env_name, last=args.last, item=args.item, groups=args.format == "json")
        finally:
            store.close()
    except HistoryError as exc:
        fix = "" if "Fix:" in str(exc) else (". Fix: check `history:` in gtmcheck.yml; a broken history file can "
                                             "be moved away (the next run starts a new one)")
        _error(f"{exc}{fix}")
        return 2
    if args.format == "json":
        _print(render_json(trends))
    else:
        _print(render_text(trends, ascii_only=args.ascii or not _can_show("✓✗·○")))
    return 0


# --- cleanup ------------------------------------------------------------------------------------------


def cmd_cleanup(args: argparse.Namespace) -> int:
    from .connectors import crm_for
    from .project import load_project
    from .synthetic import cleanup

    project = load_project(project_file=Path(args.project) if args.project else None)
    env = project.environment(args.env)
    crm = crm_for(env)
    try:
        result = cleanup(crm, writes=env.writes, run_id=args.run_id, dry_run=args.dry_run)
    finally:
        crm.close()
    verb = "Would archive" if args.dry_run else "Archived"
    for found in result.records:  # one line each, so what goes (or would go) can be read before and after
        _print(f"{'would archive' if args.dry_run else 'archived'} {found.line()}")
    for found in result.skipped:
        _print(f"left alone {found.line()}")
    scope = f"of run {args.run_id}" if args.run_id else "of any run"
    detail = ", ".join(f"{kind}: {len(ids)}" for kind, ids in result.archived.items()) or "none found"
    _print(f"{verb} {result.total} synthetic record(s) {scope} in environment {env.name!r} ({detail}).")
    if result.skipped:
        _print(f"Left alone {len(result.skipped)} tagged record(s) that fail a test of what gtmcheck creates "
               "(listed above with the reason); check them by hand.")
    return 0


# --- sandbox ------------------------------------------------------------------------------------------


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from .sandbox import serve as sandbox_serve

    if not sandbox_serve.is_loopback(args.host) and not args.allow_remote:
        _error(f"refusing to serve on {args.host}: not a loopback address. Fix: use 127.0.0.1, or add "
               "--allow-remote if you really mean to expose the sandbox")
        return 2
    scenario = Path(args.scenario) if args.scenario else sandbox_serve.default_scenario()
    app = sandbox_serve.build(scenario, fault_rate=args.fault_rate, latency_ms=args.latency_ms,
                              rate_limit=not args.no_rate_limit)
    token = "set in the scenario" if app.scenario.token else "any"
    try:
        sandbox_serve.serve(app, args.host, args.port, banner=f" (scenario {scenario}, token: {token})")
    except KeyboardInterrupt:
        _print("Sandbox stopped.", sys.stderr)
        return 0
    except OSError as exc:
        _error(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}. Fix: choose another --port")
        return 2
    return 0


# --- webhooks -----------------------------------------------------------------------------------------


def cmd_webhooks_diff(args: argparse.Namespace) -> int:
    from .kinds.webhooks.report import diff_command

    text, code = diff_command(Path(args.old), Path(args.new), fmt=args.format, enum_additions=args.enum_additions)
    _print(text)
    return code


# --- baseline -----------------------------------------------------------------------------------------


def _baseline_environment(args: argparse.Namespace) -> tuple[Project, Environment]:
    from .project import load_project

    project = load_project(project_file=Path(args.project) if args.project else None)
    return project, project.environment(args.env)


def cmd_baseline_save(args: argparse.Namespace) -> int:
    from .baseline.save import save_baselines
    from .errors import relpath

    project, env = _baseline_environment(args)
    outcomes = save_baselines(project, env, [Path(p) for p in args.paths], select=args.k)
    for outcome in outcomes.items:
        if outcome.written is not None:
            _print(f"wrote {relpath(outcome.written)}")
        elif outcome.kept is not None:
            _print(f"unchanged {relpath(outcome.kept)}")
        elif outcome.note:
            _print(f"skipped {outcome.checklist}: {outcome.note}")
    for outcome in outcomes.failed:  # unusable input is already `file:line:column: what. Fix: ...`
        _error(outcome.error if outcome.bad_input else
               f"{outcome.checklist}: not observed: {outcome.error}; its baseline file is kept as it was")
    written = sum(o.written is not None for o in outcomes.items)
    kept = sum(o.kept is not None for o in outcomes.items)
    skipped = sum(bool(o.note) for o in outcomes.items)
    _print(f"Baseline of environment {env.name!r}: {written} file(s) written, {kept} unchanged, {skipped} skipped, "
           f"{len(outcomes.failed)} failed. Review and commit {BASELINE_DIR}/.")
    return outcomes.exit_code()


def cmd_baseline_diff(args: argparse.Namespace) -> int:
    from .baseline.save import any_compared, diff_baselines

    project, env = _baseline_environment(args)
    outcomes = diff_baselines(project, env, [Path(p) for p in args.paths], select=args.k)
    if not any_compared(outcomes.items) and not any(o.bad_input for o in outcomes.items):
        _error(f"no baseline to compare with under {BASELINE_DIR}/ for these checklists. Fix: run "
               f"`gtmcheck baseline save --env NAME` on the signed-off stack and commit {BASELINE_DIR}/")
        return 2
    found = [(o, d) for o in outcomes.items for d in o.drifts]
    if args.format == "json":
        _print(json.dumps({
            "environment": env.name,
            "drifts": [{"checklist": o.checklist, "kind": d.kind, **d.as_dict(o.since)} for o, d in found],
            "skipped": [{"checklist": o.checklist, "note": o.note} for o in outcomes.items if o.note],
            "errors": [{"checklist": o.checklist, "error": o.error} for o in outcomes.failed],
        }, indent=2, sort_keys=True, default=str))
    else:
        for outcome, drift in found:
            _print(f"{outcome.checklist}: {drift.line()} (owner {drift.owner}, {outcome.since})")
        for outcome in outcomes.items:
            if outcome.note:
                _print(f"skipped {outcome.checklist}: {outcome.note}")
        compared = sum(bool(o.since) for o in outcomes.items)
        if compared or not outcomes.failed:
            _print(f"{len(found)} drift(s) in {compared} checklist(s) compared against environment {env.name!r}.")
    for outcome in outcomes.failed:
        _error(outcome.error if outcome.bad_input else f"{outcome.checklist}: not compared: {outcome.error}")
    return outcomes.exit_code(drift_is_failure=True)


# --- init ---------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from .scaffold import scaffold

    folder = Path(args.dir)
    written = scaffold(folder)
    for path in written:
        _print(f"wrote {path}")
    where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {args.dir} && "
    _print(f"\nNext: {where}gtmcheck lint && gtmcheck run   (the sandbox; no account needed)\n"
           f"Then point the production environment in gtmcheck.yml at your CRM. Docs: {DOCS_URL}")
    return 0


# --- parser -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtmcheck",
        description="Definition-of-done checklists for GTM infrastructure (CRM, UTM, routing, webhooks, "
        "attribution), linted offline and run as pytest checks against your stack.",
        epilog=f"Start with `gtmcheck init` (in your repository), then `gtmcheck lint` and `gtmcheck run`. "
        f"Docs: {DOCS_URL}",
    )
    parser.add_argument("--version", action="version", version=f"gtmcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser("init", help="scaffold gtmcheck.yml, example checklists and CI workflows",
                          description="Write gtmcheck.yml (sandbox and production environments), one commented "
                          "example checklist per kind under checks/, and .github/workflows/gtm-golive.yml and "
                          "gtm-nightly.yml. The examples pass on the bundled sandbox. Existing files are never "
                          "overwritten: if any is there, nothing is written (exit 2).",
                          epilog=f"Docs: {DOCS_URL}")
    init.add_argument("dir", nargs="?", default=".", metavar="DIR", help="where to write (default: here)")
    init.set_defaults(func=cmd_init)

    lint = sub.add_parser("lint", help="check checklists offline; exit 0 clean, 1 findings, 2 unusable input",
                          description="Lint checklists and campaign URLs without touching any system; with "
                          "--env, also check routing owners and queues against that environment's CRM.")
    lint.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the project's checks)")
    lint.add_argument("--format", choices=["text", "json", "sarif", "github"], default="text")
    lint.add_argument("--fail-on", choices=["error", "warning", "info"], default="error",
                      help="lowest severity that makes the exit code 1 (default: error)")
    lint.add_argument("-o", "--output", help="write to this file instead of standard output")
    lint.add_argument("--env", metavar="NAME",
                      help="additionally check the owners and queues of routing checklists against this "
                      "environment's CRM (gtmcheck.yml): unknown, deactivated, inactive round-robin members "
                      "(ROUTE2xx). Without it lint stays offline")
    lint.set_defaults(func=cmd_lint)

    run = sub.add_parser("run", help="run the checklists through pytest and write the sign-off report",
                         usage="gtmcheck run [options] [PATH ...] [-- PYTEST_ARG ...]",
                         description="Run every checklist against an environment and write report.json, "
                         "report.md, report.html and junit.xml. Exit codes are pytest's. Options may come "
                         "before or after the paths.",
                         epilog="Arguments after -- go to pytest unchanged: gtmcheck run checks -- -x --tb=short")
    run.add_argument("paths", nargs="*", metavar="PATH", help="checklists or folders (default: the project's checks)")
    run.add_argument("--env", help="environment from gtmcheck.yml (default: $GTMCHECK_ENV, then default_environment)")
    run.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, help=f"default: ./{DEFAULT_REPORT_DIR}")
    run.add_argument("-k", metavar="EXPR", help="only checks matching the expression (as pytest -k)")
    run.add_argument("-m", metavar="MARKEXPR", help="only checks of these kinds, e.g. -m utm")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    run.add_argument("-q", "--quiet", action="store_true", help="one character per check instead of one line")
    run.add_argument("--project", help="path to gtmcheck.yml (default: found from the working directory up)")
    run.add_argument("--require-go-live", action="store_true",
                     help="exit 1 unless the report's go-live verdict is true (the go-live gate)")
    run.add_argument("--gtm-traceback", action="store_true", help="show Python tracebacks under failures")
    run.add_argument("--read-only", action="store_true",
                     help="write nothing, even where the environment allows it (a nightly run): checks that create "
                     "synthetic records are reported not configured; an environment without `writes: true` is "
                     "read-only anyway")
    run.add_argument("--dry-run", action="store_true", help="print the pytest command line and stop")
    run.add_argument("--recheck", action="store_true",
                     help="run a failed or errored check once more after a short pause before its result stands "
                     "(the nightly run's guard against flapping; the report says 'failed twice' or 'passed on "
                     "recheck (flaky)')")
    run.add_argument("--recheck-delay", type=float, metavar="SECONDS",
                     help="pause before a recheck (default: 2, none on the sandbox)")
    run.add_argument("--notify", action="store_true",
                     help="after the run, send the digests `gtmcheck notify` would, with gtmcheck.yml's notify: "
                     "settings; a failed delivery makes the exit code 1")
    run.add_argument("--no-history", action="store_true",
                     help="do not append this run to the history (gtmcheck.yml `history:`; `gtmcheck history`)")
    run.set_defaults(func=cmd_run, pytest_args=[])  # filled from after `--` by ``parse_args``

    notify = sub.add_parser(
        "notify", help="send each checklist owner one digest of what is new, changed or resolved",
        description="Read a run's report.json and send one digest per owner of the failed and errored checks "
        "(and each baseline drift) that are new or changed since the last alert, plus a line for what resolved. "
        "What was alerted is kept in a state file. Exit 0: sent, or nothing new; 1: a destination failed "
        "(those owners are retried next run); 2: unusable input. Settings: gtmcheck.yml's notify: section; "
        "options given here win.",
        epilog=f"Docs: {DOCS_URL}")
    notify.add_argument("--report", default=DEFAULT_REPORT_DIR, metavar="DIR|FILE",
                        help=f"report.json or its folder (default: ./{DEFAULT_REPORT_DIR})")
    notify.add_argument("--to", action="append", metavar="DEST",
                        help="slack:URL, webhook:URL or github:OWNER/REPO (repeat for several; replaces notify.to)")
    notify.add_argument("--state", metavar="FILE", help="state file (default: .gtmcheck/notify-state.json in the "
                        "project root)")
    notify.add_argument("--suppress", metavar="DURATION",
                        help="re-alert an unchanged open finding at most once per DURATION, e.g. 7d (default: never)")
    notify.add_argument("--alert-after", type=int, metavar="N",
                        help="failing runs in a row before the first alert (default 1; errors need at least 2)")
    notify.add_argument("--report-url", metavar="URL", help="link to the report in every digest")
    notify.add_argument("--github-api-url", metavar="URL",
                        help="GitHub API base (default: $GTMCHECK_GITHUB_API_URL, $GITHUB_API_URL, "
                        "https://api.github.com)")
    notify.add_argument("--dry-run", action="store_true", help="print the digests; send nothing, keep no state")
    notify.add_argument("--project", help="path to gtmcheck.yml (default: found from the working directory up)")
    notify.set_defaults(func=cmd_notify)

    schema = sub.add_parser("schema", help="print the checklist JSON Schema (for editors and CI)")
    which = schema.add_mutually_exclusive_group()
    which.add_argument("--project", action="store_true", help="print the schema of gtmcheck.yml instead")
    which.add_argument("--report", action="store_true", help="print the schema of report.json instead")
    which.add_argument("--scenario", action="store_true", help="print the schema of sandbox scenario files instead")
    which.add_argument("--kind", choices=KINDS, help="print the schema of one kind's checklists")
    schema.add_argument("--format", choices=["json", "markdown"], default="json",
                        help="markdown: the reference page in docs/ (with --kind or --scenario)")
    schema.set_defaults(func=cmd_schema)

    rules = sub.add_parser("rules", help="list every lint rule with its code, severity and fix")
    rules.add_argument("--format", choices=["text", "markdown"], default="text")
    rules.set_defaults(func=cmd_rules)

    report = sub.add_parser("report", help="render a report.json again as Markdown or HTML",
                            description="Render a report.json written by `gtmcheck run` again. A file that is "
                            "not one (see `gtmcheck schema --report`) is refused with exit code 2.")
    report.add_argument("report", help="path to report.json")
    report.add_argument("--format", choices=["md", "html"], default="md")
    report.add_argument("-o", "--output", help="write to this file instead of standard output")
    report.set_defaults(func=cmd_report)
    history = sub.add_parser("history", help="each item's last runs and each reconciled total's trend",
                             description="Print the run history (gtmcheck.yml `history:`): per item a strip of "
                             "its last runs (oldest left), per reconciled total its values and a robust verdict "
                             "(median and MAD of the same weekday; docs/history.md).")
    history.add_argument("--env", help="environment (default: $GTMCHECK_ENV, then default_environment)")
    history.add_argument("--item", metavar="ID", help="only this item: its id, its DoD id, or a glob")
    history.add_argument("--last", type=int, default=30, metavar="N", help="how many runs (default: 30)")
    history.add_argument("--format", choices=["text", "json"], default="text")
    history.add_argument("--ascii", action="store_true", help="ASCII marks (. F E) instead of ✓ ✗ !")
    history.add_argument("--project", help="path to gtmcheck.yml (default: found from the working directory up)")
    history.set_defaults(func=cmd_history)

    clean = sub.add_parser("cleanup", help="archive synthetic records left behind by earlier runs",
                           description="Find the records gtmcheck created and archive them, each listed: tagged "
                           "gtmcheck_run_id with a run id (gtm-YYYYMMDDTHHMMSS-xxxxxx), and a contact or lead with "
                           "one plain address on gtmcheck.example.com (or on a reserved test domain with the run "
                           "id in it), a company with a reserved domain, a deal whose name starts with "
                           "[gtmcheck <run id>]. A tagged record that fails a test is listed with the reason and "
                           "left alone. Never a GDPR delete; only where the environment says writes: true.")
    clean.add_argument("--env", help="environment from gtmcheck.yml (default: $GTMCHECK_ENV, then default_environment)")
    clean.add_argument("--run-id", help="only the records of this run (default: every run's)")
    clean.add_argument("--dry-run", action="store_true",
                       help="list every record that would be archived (type, id, email/domain/name, tag), change "
                       "nothing")
    clean.add_argument("--project", help="path to gtmcheck.yml (default: found from the working directory up)")
    clean.set_defaults(func=cmd_cleanup)

    sandbox = sub.add_parser("sandbox", help="the embedded HubSpot-compatible CRM",
                             description="Run the embedded sandbox CRM outside of a check run.")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    serve = sandbox_sub.add_parser("serve", help="serve the sandbox HubSpot API on loopback until Ctrl-C",
                                   description="Serve the HubSpot CRM v3 subset of the sandbox over HTTP, so curl "
                                   "and other tools can use it as they would api.hubapi.com.")
    serve.add_argument("--scenario", metavar="PATH",
                       help="scenario file (default: the `sandbox` environment's, else the bundled demo's healthy one)")
    serve.add_argument("--port", type=int, default=8765, help="default: 8765 (0 picks a free port)")
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback only)")
    serve.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    serve.add_argument("--fault-rate", type=float, metavar="F", help="answer this fraction with 502/503/504")
    serve.add_argument("--latency-ms", type=float, metavar="N", help="delay every answer by N ms")
    serve.add_argument("--no-rate-limit", action="store_true", help="turn off the 190/10 s and search limits")
    serve.set_defaults(func=cmd_sandbox_serve)

    baseline = sub.add_parser("baseline", help="save the observed stack as a reviewed baseline, or diff against it",
                              description="A baseline is what each checklist observed of the live stack (CRM "
                              "properties and options, lifecycle stages, webhook versions seen, reconciled totals "
                              f"per group), one JSON file per checklist under {BASELINE_DIR}/, sorted for small "
                              "diffs in review. Both actions only read the stack: nothing is written to the CRM, "
                              "not even in a sandbox. Once a baseline exists, `gtmcheck run` adds a BASELINE-DRIFT "
                              "check to that checklist. Docs: docs/baseline.md.")
    baseline_sub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    bsave = baseline_sub.add_parser("save", help="observe every checklist and (over)write its baseline file",
                                    description="Observe each checklist in the environment and write "
                                    f"{BASELINE_DIR}/<checklist path>.json (overwriting). A checklist whose kind "
                                    "observes nothing is skipped with a note; one that cannot be observed is "
                                    "reported and its old file kept. Exit 0 saved, 1 a checklist could not be "
                                    "observed, 2 unusable input.")
    bdiff = baseline_sub.add_parser("diff", help="observe now and print what drifted since the baseline",
                                    description="Observe each checklist that has a baseline and print every "
                                    "drift: the checklist, its owner, what it was, what it is, and since when. "
                                    "Exit 0 no drift, 1 drift (or a checklist could not be observed), 2 unusable "
                                    "input or no baseline at all.")
    bdiff.add_argument("--format", choices=["text", "json"], default="text",
                       help="json: {environment, drifts: [{checklist, kind, path, was, is, since, owner, message}], "
                       "skipped, errors}")
    for action, func in ((bsave, cmd_baseline_save), (bdiff, cmd_baseline_diff)):
        action.add_argument("paths", nargs="*", metavar="PATH",
                            help="checklists or folders (default: the project's checks)")
        action.add_argument("--env", metavar="NAME",
                            help="environment from gtmcheck.yml (default: $GTMCHECK_ENV, then default_environment)")
        action.add_argument("-k", metavar="TEXT",
                            help="only checklists whose file, name or kind contains TEXT (case-insensitive)")
        action.add_argument("--project", help="path to gtmcheck.yml (default: found from the working directory up)")
        action.set_defaults(func=func)

    webhooks = sub.add_parser("webhooks", help="webhook payload schemas",
                              description="Offline checks of webhook payload JSON Schemas.")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    wdiff = webhooks_sub.add_parser("diff", help="classify the changes between two schema versions",
                                    description="List every change from OLD to NEW with whether it narrows and/or "
                                    "widens the payloads accepted. Exit 0: nothing breaking; 1: a breaking change; "
                                    "2: unusable input. Rules: docs/webhooks.md.")
    wdiff.add_argument("old", metavar="OLD.json")
    wdiff.add_argument("new", metavar="NEW.json")
    wdiff.add_argument("--format", choices=["text", "json"], default="text")
    wdiff.add_argument("--enum-additions", choices=["compatible", "breaking"], default="compatible",
                       help="new enum values: compatible for tolerant readers (default), breaking for strict ones")
    wdiff.set_defaults(func=cmd_webhooks_diff)
    return parser


PATH_COMMANDS = ("lint", "run", "baseline")  # commands whose PATHs may be interleaved with options


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` with options before or after the paths: ``gtmcheck run checks/x.gtm.yml --report-dir out``.

    argparse takes a ``nargs="*"`` positional once, so PATHs after an option come back as extras: they join
    ``paths``. For ``run``, everything after the first ``--`` goes to pytest unchanged; an option gtmcheck does
    not know is a usage error (exit 2) that says so, never silently handed to pytest.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    pass_through: list[str] = []
    if command == "run":
        start = args_list.index("run")
        if "--" in args_list[start:]:
            cut = args_list.index("--", start)
            args_list, pass_through = args_list[:cut], args_list[cut + 1:]
    args, extras = parser.parse_known_args(args_list)
    if args.command in PATH_COMMANDS:
        args.paths += [e for e in extras if not e.startswith("-")]
        extras = [e for e in extras if e.startswith("-")]
    if extras:
        hint = "; pytest options go after --: gtmcheck run -- -x --tb=short" if args.command == "run" else ""
        parser.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    if args.command == "run":
        args.pytest_args = pass_through
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
        return code
    except SpecError as exc:
        for error in exc.errors:  # several problems of one file (SpecErrors): one line each
            _error(error.format())
        return EXIT_USAGE if args.command == "run" else 2
    except (ConfigError, GtmcheckError) as exc:
        _error(str(exc))
        return EXIT_USAGE if args.command == "run" else 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
