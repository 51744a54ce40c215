"""Attribution lint rules (``ATTR1xx``): what the schema cannot say about a model, its tables and its reviews.

Each finding points at the line that is wrong. The checks ask the same questions where a run depends on them
(``problems_of`` with ``BLOCKING``), so a run without ``gtmcheck lint`` still says what to fix instead of
recomputing the wrong model.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...dod import CROSS_FUNCTIONAL_SIGNER
from ...findings import Finding, Severity, register
from ...yamlfile import JsonPath
from ..reconcile.rules import Problem
from ..reconcile.sql import unsafe_sql
from .compiled import MONTHLY_DAYS, POSITION_ROLES, RECOMPUTE_KEYS, W_ROLES, AttributionSpec, half_life_days
from .models import AttributionModel
from .utm_map import UtmProblem, load_utm

E, W = Severity.ERROR, Severity.WARNING
BOARD_ID = "ATTR-BOARD-SIGNOFF"
PLACEHOLDERS = frozenset({"tbd", "todo", "n/a", "na", "-", "?", "tba", "later", "none"})

WEIGHTS_NOT_ONE = register(
    "ATTR101", "attribution.weights-not-one", E,
    "The model's role weights do not sum to 1 (100% of the credit).",
    "make the weights add up to 1, e.g. {first: 0.4, middle: 0.2, last: 0.4}",
    "Anti-pattern: `{first: 0.4, middle: 0.2, last: 0.3}`: 10% of every conversion's credit leaks, as HubSpot's "
    "old simple decay did (98.44%). Best practice: weights that sum to exactly 1.",
)
HALF_LIFE_NOT_POSITIVE = register(
    "ATTR102", "attribution.half-life-not-positive", E,
    "A time-decay half-life of 0: every weight would be undefined.",
    "write a positive half-life such as 7d",
    "Anti-pattern: `half_life: 0d`. Best practice: the half-life of your sales motion (7d is the usual default).",
)
NO_RATIONALE = register(
    "ATTR103", "attribution.missing-rationale", E,
    "The model has no `rationale:` (or a placeholder such as TBD): the DoD asks for the model *with* its reason.",
    "write why this model fits: the sales cycle, the channels, what the board asks",
    "Anti-pattern: `model: {name: w_shaped}` and nothing else, so nobody can tell whether it still fits. "
    "Best practice: a sentence or two of rationale next to the model, reviewed with it.",
)
CADENCE_TOO_LONG = register(
    "ATTR104", "attribution.cadence-longer-than-monthly", E,
    "The review cadence is longer than monthly; the DoD asks for monthly at least.",
    "review monthly (or more often): `cadence: monthly`",
    "Anti-pattern: `cadence: quarterly`: a channel that stopped being tracked goes unseen for a quarter. "
    "Best practice: a monthly review of the model and the channel shares.",
)
NO_REVENUE_SIGNER = register(
    "ATTR105", "attribution.board-view-without-revenue-signer", E,
    "The board view is not signed off by the CRO or VP Revenue (no such signer, or the attestation is someone "
    "else's).",
    "add `signoff: {by: ..., role: cro}` (or vp_revenue) and attest ATTR-BOARD-SIGNOFF under `manual:` by that person",
    "Anti-pattern: the board's attribution view attested by the analyst who built it. Best practice: the "
    "revenue leader who presents it signs it off (cross-functional work: CRO or VP Revenue).",
)
UTM_NOT_UTM = register(
    "ATTR106", "attribution.channels-utm-not-a-utm-checklist", E,
    "`channels.utm` does not name a loadable `kind: utm` checklist with expected channels.",
    "point `channels.utm` at your utm checklist (path relative to this file)",
    "Anti-pattern: a copy of the channel list in the attribution checklist, which drifts from the UTM "
    "taxonomy. Best practice: one channel map, in the utm checklist, read by both.",
)
EXTERNAL_RECOMPUTE_KEYS = register(
    "ATTR107", "attribution.external-with-recompute-keys", E,
    "An `external` model carries keys only a recomputed model uses (weights, half_life, direct_channels).",
    "drop them (the vendor's model cannot be recomputed), or name the model gtmcheck should recompute",
    "Anti-pattern: `{name: external, weights: {...}}`, which reads as if the weights were checked. Best "
    "practice: `external` with its `vendor`, checked through the invariants alone.",
)
UNUSED_MODEL_KEY = register(
    "ATTR108", "attribution.unused-model-key", W,
    "A model key the named model ignores (weights on time_decay, half_life on linear, vendor on a built-in).",
    "drop the key, or change the model's name to the one it belongs to",
    "Anti-pattern: `{name: linear, half_life: 7d}`: the half-life looks configured and is not. Best practice: "
    "only the keys the model reads.",
)
MISSING_TABLES = register(
    "ATTR109", "attribution.model-without-tables", E,
    "A model is declared without the tables that check it (conversions, touchpoints, attribution).",
    "add `conversions:`, `touchpoints:` and `attribution:` (table names at least)",
    "Anti-pattern: a model in YAML that no query ever compares with the attribution table. Best practice: "
    "the tables the reports read, so ATTR-MODEL-DOCUMENTED recomputes the model against them.",
)
UNSAFE_SQL = register(
    "ATTR110", "attribution.unsafe-sql", E,
    "A `where` or the board view's `sql` holds ';', '--' or '/*', `sql` is not one SELECT, or the board view has "
    "both or neither of `table` and `sql`.",
    "write one SELECT (or one condition) without comments or semicolons; give `table:` or `sql:`",
    "Anti-pattern: `sql: \"select ...; delete from attribution\"`. Best practice: one read-only statement.",
)
VALUE_WITHOUT_VALUE = register(
    "ATTR111", "attribution.value-unit-without-value", E,
    "The attribution table credits value (`unit: value`) but the conversions have no `value` column.",
    "add `value:` to `conversions:` (the column holding each conversion's amount), or use `unit: share`",
    "Anti-pattern: value credits checked against nothing. Best practice: credits sum to the conversion's value.",
)
W_WITHOUT_MILESTONES = register(
    "ATTR112", "attribution.w-shaped-without-milestones", W,
    "A w_shaped model without `lead_created_at` or `opportunity_created_at`: its middle roles are left out.",
    "add `lead_created_at:` and `opportunity_created_at:` to `conversions:`",
    "Anti-pattern: W-shaped in name, U-shaped in fact. Best practice: both milestones, so all four roles count.",
)
BLOCKING = frozenset({WEIGHTS_NOT_ONE.code, HALF_LIFE_NOT_POSITIVE.code, EXTERNAL_RECOMPUTE_KEYS.code,
                      MISSING_TABLES.code, UNSAFE_SQL.code, VALUE_WITHOUT_VALUE.code})
_MODEL_KEYS = {"weights": ("position_based", "w_shaped"), "half_life": ("time_decay",),
               "direct_channels": ("last_non_direct",), "vendor": ("external",)}


def _weights_problems(spec: AttributionSpec) -> Iterator[Problem]:
    raw = spec.data["model"]
    name = raw["name"]
    if name not in ("position_based", "w_shaped") or "weights" not in raw:
        return
    roles, default = ((POSITION_ROLES, AttributionModel(name).position_weights) if name == "position_based"
                      else (W_ROLES, AttributionModel(name).w_weights))
    weights = raw["weights"]
    stray = [k for k in weights if k not in roles]
    if stray:
        yield Problem(UNUSED_MODEL_KEY, ("model", "weights", stray[0]), f"{name} has no `{stray[0]}` role "
                      f"(its roles: {', '.join(roles)})", key=True)
    total = sum(float(weights.get(r, d)) for r, d in zip(roles, default, strict=True))
    if abs(total - 1.0) > 1e-9:
        shown = ", ".join(f"{r} {float(weights.get(r, d)):g}" for r, d in zip(roles, default, strict=True))
        yield Problem(WEIGHTS_NOT_ONE, ("model", "weights"), f"the {name} weights sum to {total:g}, not 1 ({shown})")


def _model_problems(spec: AttributionSpec) -> Iterator[Problem]:
    raw = spec.data.get("model")
    if not raw:
        return
    name = raw["name"]
    yield from _weights_problems(spec)
    if "half_life" in raw and half_life_days(raw["half_life"]) <= 0:
        yield Problem(HALF_LIFE_NOT_POSITIVE, ("model", "half_life"), f"half_life {raw['half_life']} is not "
                      "positive: 2^(-age/0) has no value")
    for key, models in _MODEL_KEYS.items():
        if key in raw and name not in models:
            if name == "external" and key in RECOMPUTE_KEYS:
                yield Problem(EXTERNAL_RECOMPUTE_KEYS, ("model", key), f"`{key}` is for recomputing "
                              f"{' and '.join(models)}; an external model is never recomputed, so it is not checked",
                              True)
            else:
                yield Problem(UNUSED_MODEL_KEY, ("model", key), f"`{key}` is for {' and '.join(models)}; {name} "
                              "ignores it", True)
    if spec.rationale is None or spec.rationale.lower().strip(" .") in PLACEHOLDERS:
        where: JsonPath = ("rationale",) if "rationale" in spec.data else ("model",)
        said = "is a placeholder" if spec.rationale else "is missing"
        yield Problem(NO_RATIONALE, where, f"the {name} model's rationale {said}", key="rationale" not in spec.data)
    needed = ("conversions", "attribution") if name == "external" else ("conversions", "touchpoints",
                                                                         "attribution")
    missing = [k for k in needed if k not in spec.data]
    if missing:
        yield Problem(MISSING_TABLES, ("model",), f"the {name} model has no {', '.join(f'`{m}:`' for m in missing)}"
                      ": ATTR-MODEL-DOCUMENTED cannot compare it with anything", True)
    conv = spec.data.get("conversions") or {}
    if name == "w_shaped" and "conversions" in spec.data:
        gone = [k for k in ("lead_created_at", "opportunity_created_at") if k not in conv]
        if gone:
            yield Problem(W_WITHOUT_MILESTONES, ("conversions",), f"w_shaped without `{gone[0]}`: that role's "
                          "weight is spread over the others", True)


def _table_problems(spec: AttributionSpec) -> Iterator[Problem]:
    for section in ("conversions", "touchpoints", "board_view"):
        where = (spec.data.get(section) or {}).get("where")
        if where is not None and (reason := unsafe_sql(where)):
            yield Problem(UNSAFE_SQL, (section, "where"), f"the where clause cannot be sent to the warehouse: {reason}")
    attr = spec.data.get("attribution") or {}
    if attr.get("unit") == "value" and not (spec.data.get("conversions") or {}).get("value"):
        yield Problem(VALUE_WITHOUT_VALUE, ("attribution", "unit"), "credits are in value but `conversions:` has no "
                      "`value:` column to sum them to")
    board = spec.data.get("board_view")
    if board is not None:
        if ("table" in board) == ("sql" in board):
            yield Problem(UNSAFE_SQL, ("board_view",), "the board view needs exactly one of `table:` or `sql:`", True)
        elif "sql" in board:
            if (reason := unsafe_sql(board["sql"], whole=True)):
                yield Problem(UNSAFE_SQL, ("board_view", "sql"), f"the board view's sql cannot be sent: {reason}")
            for extra in ("where", "channel", "credit"):
                if extra in board:
                    yield Problem(UNSAFE_SQL, ("board_view", extra), f"`{extra}` applies to a `table:` board view; "
                                  "with `sql:` return the channel and credit columns from the query", True)


def _review_problems(spec: AttributionSpec) -> Iterator[Problem]:
    if spec.review is not None and spec.review.cadence_days > MONTHLY_DAYS:
        yield Problem(CADENCE_TOO_LONG, ("review", "cadence"), f"cadence {spec.review.cadence} "
                      f"({spec.review.cadence_days} days) is longer than monthly")


def board_signer_problem(spec: AttributionSpec) -> Problem | None:
    """Why the board view's sign-off cannot come from the CRO or VP Revenue, or ``None``."""
    roles = CROSS_FUNCTIONAL_SIGNER.roles
    revenue = [s for s in spec.checklist.signoffs if s.role in roles]
    manual = spec.checklist.manual.get(BOARD_ID)
    if not revenue:
        where: JsonPath = ("signoff",) if "signoff" in spec.data else ("board_view",)
        return Problem(NO_REVENUE_SIGNER, where, f"no signer with role {' or '.join(roles)}: nobody may sign the "
                       "board view off", key=True)
    if manual is not None and manual.attested_by not in {s.by for s in revenue}:
        return Problem(NO_REVENUE_SIGNER, ("manual", manual.index, "attested_by"), f"{BOARD_ID} is attested by "
                       f"{manual.attested_by}, who is not a {' or '.join(roles)} signer "
                       f"({', '.join(s.by for s in revenue)})")
    return None


def problems_of(spec: AttributionSpec) -> list[Problem]:
    """Every problem of the checklist, in the order a reader meets them (``channels.utm`` read from disk)."""
    found = [*_model_problems(spec), *_table_problems(spec), *_review_problems(spec)]
    if "board_view" in spec.data or BOARD_ID in spec.checklist.manual:
        signer = board_signer_problem(spec)
        if signer is not None:
            found.append(signer)
    if spec.utm_path is not None:
        utm = load_utm(spec)
        if isinstance(utm, UtmProblem):
            found.append(Problem(UTM_NOT_UTM, ("channels", "utm"), utm.message))
    return found


def blocking(spec: AttributionSpec, sections: tuple[str, ...]) -> Problem | None:
    """The first blocking problem in ``sections`` (top-level keys), which a check reports instead of running."""
    for problem in [*_model_problems(spec), *_table_problems(spec)]:  # where every BLOCKING code comes from
        if problem.rule.code in BLOCKING and problem.path[0] in sections:
            return problem
    return None


def lint_attribution(spec: AttributionSpec) -> Iterator[Finding]:
    for problem in problems_of(spec):
        yield problem.rule.finding(spec.at(problem.path, key=problem.key), problem.message)
