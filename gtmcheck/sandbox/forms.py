"""HubSpot's Forms API in the sandbox: a submission lands on a contact through the form's own field mapping.

``POST /submissions/v3/integration/submit/{portalId}/{formGuid}`` takes HubSpot's documented body::

    {"fields": [{"objectTypeId": "0-1", "name": "email", "value": "ada@example.com"}],
     "context": {"pageUri": "https://www.acme.example/spring?utm_source=google&utm_medium=cpc", "pageName": "Spring",
                 "hutk": "..."}}

and answers 200 ``{"inlineMessage": "..."}``; an unknown portal or form is a 404, a bad body or a field the
form does not have a 400 with ``{"status": "error", "message", "errors": [{"message", "errorType"}]}``, as
HubSpot does. The form's ``fields`` say which contact property each field lands in (``property: null``: the
field is accepted and dropped, the classic broken mapping); a ``hidden`` field left out of the submission is
filled from the page URL's query parameter of the same name, as HubSpot's embed does for UTM fields. A new
contact's original source (``hs_analytics_source``, drill-downs 1 and 2) comes from the page URL's UTM
parameters. The contact (found by email, else created) changes ``delay_ms`` after the submission, since
HubSpot processes submissions asynchronously: the CRM applies due submissions lazily, as it does routing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FORMS_SCHEMA", "FormError", "Forms", "FormsEndpoint", "original_source"]

_MS = {"type": "number", "minimum": 0, "maximum": 3_600_000}
FORMS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "x-default": "no forms: every submission is a 404",
    "description": "Forms that `POST /submissions/v3/integration/submit/{portal_id}/{guid}` accepts (HubSpot's "
    "Forms API; the connector's `forms_base_url`, api.hsforms.com in real life).",
    "items": {
        "type": "object",
        "required": ["guid", "fields"],
        "additionalProperties": False,
        "properties": {
            "guid": {"type": "string", "pattern": "^[0-9a-fA-F-]{8,64}$", "description": "The form's guid.",
                     "x-hint": "write a guid such as 6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01",
                     "examples": ["6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01"]},
            "name": {"type": "string", "default": "", "description": "A name for people.",
                     "examples": ["Demo request"]},
            "delay_ms": {**_MS, "default": 0, "description": "The contact changes this long after the submission "
                         "(milliseconds, at most an hour): HubSpot processes submissions asynchronously.",
                         "examples": [500]},
            "inline_message": {"type": "string", "default": "Thanks for submitting the form.",
                               "description": "The `inlineMessage` of a 200 answer.",
                               "examples": ["Thanks, we will be in touch."]},
            "fields": {
                "type": "array",
                "minItems": 1,
                "description": "The form's fields and the contact property each lands in.",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "description": "The field's name.",
                                 "examples": ["utm_campaign"]},
                        "property": {"type": ["string", "null"], "minLength": 1,
                                     "x-default": "the field's name",
                                     "description": "The contact property it sets; `null`: the field is "
                                     "accepted and dropped (a mapping that broke).",
                                     "examples": ["utm_campaign"]},
                        "hidden": {"type": "boolean", "default": False,
                                   "description": "Filled from the page URL's query parameter of the same name "
                                   "when the submission leaves it out (UTM fields).", "examples": [True]},
                        "required": {"type": "boolean", "default": False,
                                     "description": "A submission without it is a 400.", "examples": [True]},
                    },
                },
            },
        },
    },
}

# HubSpot's original source categories, from the page URL's utm_medium (utm_source for the social networks)
_SOURCE_BY_MEDIUM = {"cpc": "PAID_SEARCH", "ppc": "PAID_SEARCH", "paidsearch": "PAID_SEARCH",
                     "paid_social": "PAID_SOCIAL", "paidsocial": "PAID_SOCIAL", "paid_video": "PAID_SOCIAL",
                     "email": "EMAIL_MARKETING", "social": "SOCIAL_MEDIA", "referral": "REFERRALS",
                     "display": "OTHER_CAMPAIGNS"}


class FormError(Exception):
    """A refused submission: HTTP status, message and HubSpot's ``errors`` entries."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def original_source(query: Mapping[str, str]) -> dict[str, str]:
    """``hs_analytics_source`` and its drill-downs from a page URL's UTM parameters (empty without utm_medium)."""
    medium = query.get("utm_medium", "").lower()
    if not medium:
        return {}
    return {"hs_analytics_source": _SOURCE_BY_MEDIUM.get(medium, "OTHER_CAMPAIGNS"),
            "hs_analytics_source_data_1": query.get("utm_source", ""),
            "hs_analytics_source_data_2": query.get("utm_campaign", "")}


@dataclass(frozen=True)
class Submission:
    """A submission accepted and waiting for its due time: the email and the properties it sets."""

    due: float
    email: str
    properties: dict[str, str]
    original: dict[str, str]


class Forms:
    """The scenario's forms; ``submit`` checks a body and queues its contact change for ``apply_due``."""

    def __init__(self, forms: list[dict[str, Any]], portal_id: int, clock: Callable[[], float]) -> None:
        self.by_guid = {str(f["guid"]).lower(): f for f in forms}
        self.portal_id = portal_id
        self.clock = clock
        self.pending: list[Submission] = []
        self.log: list[dict[str, Any]] = []  # every accepted submission: form, email, page, properties

    def submit(self, portal_id: str, guid: str, body: Any) -> dict[str, Any]:
        """Check one submission and queue it; the answer body of a 200."""
        form = self.by_guid.get(guid.lower())
        if portal_id != str(self.portal_id) or form is None:
            raise FormError(404, f"Form {guid} not found in portal {portal_id}")
        if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
            raise FormError(400, "The request is not valid",
                            [{"message": "Error in 'fields': a list of {name, value} is required",
                              "errorType": "INVALID_JSON"}])
        declared = {str(f["name"]): f for f in form["fields"]}
        values: dict[str, str] = {}
        errors: list[dict[str, str]] = []
        for i, item in enumerate(body["fields"]):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "value" not in item:
                errors.append({"message": f"Error in 'fields[{i}]': needs name and value", "errorType": "INVALID_JSON"})
            elif item["name"] not in declared:
                errors.append({"message": f"Error in 'fields.{item['name']}'. Field '{item['name']}' is not in "
                               "the form", "errorType": "FIELD_NOT_IN_FORM"})
            else:
                values[item["name"]] = "" if item["value"] is None else str(item["value"])
        raw_context = body.get("context")
        context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
        page = str(context.get("pageUri") or "")
        query = {k: v[0] for k, v in parse_qs(urlsplit(page).query).items() if v}
        for name, spec in declared.items():
            if spec.get("hidden") and name not in values and query.get(name):
                values[name] = query[name]
            if spec.get("required") and not values.get(name):
                errors.append({"message": f"Error in 'fields.{name}'. Required field '{name}' is missing",
                               "errorType": "REQUIRED_FIELD"})
        email = values.get("email", "").strip()
        if not errors and ("@" not in email or declared.get("email", {}).get("property", "email") != "email"):
            errors.append({"message": "Error in 'fields.email'. A submission needs a valid email address that "
                           "the form maps to the contact's email", "errorType": "INVALID_EMAIL"})
        if errors:
            raise FormError(400, "The request is not valid", errors)
        props: dict[str, str] = {}
        for name, value in values.items():
            target = declared[name].get("property", name)
            if target and value:
                props[str(target)] = value
        due = self.clock() + float(form.get("delay_ms", 0)) / 1000
        self.pending.append(Submission(due, email.lower(), props, original_source(query)))
        self.log.append({"form": form["guid"], "email": email.lower(), "page": page, "properties": props})
        return {"inlineMessage": str(form.get("inline_message") or "Thanks for submitting the form.")}

    def take_due(self) -> list[Submission]:
        """The submissions whose processing time has come, oldest first, removed from the queue."""
        now = self.clock()
        due = [s for s in self.pending if s.due <= now]
        if due:
            self.pending = [s for s in self.pending if s.due > now]
        return sorted(due, key=lambda s: s.due)


class FormsEndpoint:
    """The CRM's side of forms, a mixin of ``HubSpotSandbox`` (kept apart: hubspot.py is big)."""

    forms: Forms
    _objects: dict[str, dict[str, Any]]

    def _create(self, object_type: str, body: Mapping[str, Any], *, source: str = "API") -> dict[str, Any]:
        raise NotImplementedError

    def _apply(self, object_type: str, stored: Any, props: Mapping[str, Any], source: str = "API",
               at_ms: int | None = None) -> None:
        raise NotImplementedError

    def _error(self, status: int, message: str, category: str, **extra: Any) -> Exception:
        raise NotImplementedError

    def _tick(self) -> None:
        raise NotImplementedError

    def _apply_submissions(self) -> None:
        """Form submissions whose processing time has come land on their contact (by email), else a new one."""
        for submission in self.forms.take_due():
            existing = next((c for c in self._objects["contacts"].values() if not c.archived
                             and c.properties.get("email", "").lower() == submission.email), None)
            if existing is None:
                self._create("contacts", {"properties": {**submission.original, **submission.properties}},
                             source="FORM")
            else:  # the original source is the first visit's: kept where the contact has one
                first = {k: v for k, v in submission.original.items() if not existing.properties.get(k)}
                self._apply("contacts", existing, {**first, **submission.properties}, source="FORM")

    def _submit_form(self, method: str, parts: list[str], body: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        """``POST /submissions/v3/integration/submit/{portalId}/{formGuid}``."""
        if len(parts) != 6:
            raise self._error(404, f"Unknown path /{'/'.join(parts)}", "OBJECT_NOT_FOUND")
        if method != "POST":
            raise self._error(405, f"{method} is not allowed here", "VALIDATION_ERROR")
        try:
            answer = self.forms.submit(parts[4], parts[5], body)
        except FormError as exc:
            raise self._error(exc.status, str(exc), "VALIDATION_ERROR" if exc.status == 400 else "OBJECT_NOT_FOUND",
                              **({"errors": exc.errors} if exc.errors else {})) from None
        self._tick()
        return 200, answer, []
