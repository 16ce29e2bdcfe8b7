"""An application's eligibility check, and officers' decisions on single rules."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.applications.services import get_readable
from grants.core.db import db
from grants.core.i18n import current_language
from grants.core.roles import RoleCode
from grants.eligibility.models import Outcome
from grants.eligibility.report import RuleRow, build_report, stored_row
from grants.eligibility.services import decide

blp = Blueprint("api_eligibility", __name__, description="Eligibility checks of applications")


class RuleResultSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    severity = ma.fields.String()
    outcome = ma.fields.String(metadata={"description": "The final outcome: the officer's decision when there "
                                                        "is one, otherwise the computed one (pass, fail, manual)."})
    message = ma.fields.String()
    decided_outcome = ma.fields.String(metadata={"description": "The officer's decision (pass or fail), if any."})
    justification = ma.fields.String(metadata={"description": "The officer's justification; to the applicant "
                                                              "only when the rule is finally not met."})


class EligibilitySchema(ma.Schema):
    passed = ma.fields.Boolean(metadata={"description": "Draft: no blocking rule fails. Submitted: no blocking "
                                                        "rule finally fails, no manual rule is undecided or "
                                                        "decided not met."})
    round = ma.fields.Integer(allow_none=True, metadata={"description": "The submission round read (null: a "
                                                                        "live check of a draft)."})
    results = ma.fields.List(ma.fields.Nested(RuleResultSchema))


class DecisionSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf([Outcome.PASS.value, Outcome.FAIL.value]))
    justification = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=5000))
    version = ma.fields.Integer(load_default=None, allow_none=True)


def _dump(row: RuleRow) -> dict:
    data = {"code": row.code, "title": row.title, "severity": row.severity.value, "outcome": row.final.value,
            "message": row.message}
    if row.decided is not None:
        data["decided_outcome"] = row.decided.value
    if row.justification:
        data["justification"] = row.justification
    return data


@blp.route("/applications/<int:application_id>/eligibility", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, EligibilitySchema)
def read(application_id: int):
    """A draft's rules checked now, or the results stored at the latest submission with officers' decisions."""
    application = get_readable(current_user, application_id)
    report = build_report(application, current_user, current_language())
    return {"passed": report.passed, "round": report.round, "results": [_dump(row) for row in report.rows]}


@blp.route("/applications/<int:application_id>/eligibility/<string:rule_code>/decision", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER)
@blp.arguments(DecisionSchema)
@blp.response(200, RuleResultSchema)
@blp.alt_response(409, description="The application is not in eligibility review, or it changed meanwhile.")
@blp.alt_response(422, description="No (or too short a) justification for an override or a negative decision.")
def decide_(data, application_id: int, rule_code: str):
    """Confirm a manual rule (pass or fail) or override a failed one; a justification (≥ 20 characters) is
    needed to override a failure and to decide that a rule is not met."""
    application = get_readable(current_user, application_id)
    result = decide(application, rule_code, current_user, data["outcome"], data["justification"], data["version"])
    db.session.commit()
    return _dump(stored_row(result, current_language(), staff=True))
