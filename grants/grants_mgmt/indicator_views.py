"""A programme's indicators page (DESIGN §7): the catalogue (the ESF+ common indicators of an ESF+
programme and the programme's own), the programme's and each call's targets, and what the grants'
accepted reports reached. Programme staff read it; officers and admins change the catalogue and targets.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.calls.models import Programme
from grants.core.db import db
from grants.core.errors import NotFound, PermissionDenied, UserInputError
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.grants_mgmt import indicators
from grants.grants_mgmt.awards import GRANT_STAFF
from grants.grants_mgmt.report_forms import (
    CatalogueRow,
    catalogue_data,
    catalogue_errors,
    catalogue_from,
    catalogue_rows,
)

bp = Blueprint("indicators", __name__, url_prefix="/programmes")

#: Who changes a programme's indicators and targets.
EDITORS = (RoleCode.OFFICER, RoleCode.ADMIN)


def _programme(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    return programme


@bp.route("/<int:programme_id>/indicators", methods=["GET", "POST"])
@login_required
@roles_required(*GRANT_STAFF)
def programme(programme_id: int):
    programme = _programme(programme_id)
    may_edit = current_user.has_any_role(*EDITORS)
    rows: list[CatalogueRow] | None = None
    row_errors: dict[int, dict[str, list[str]]] = {}
    general: list[str] = []
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied()
        common = {i.code: i.title for i in indicators.definitions(programme, []) if i.is_common}
        rows = catalogue_from(request.form, programme.calls, common)
        data, keys = catalogue_data(rows)
        try:
            indicators.save_indicators(programme, current_user, data)
        except UserInputError as refused:
            db.session.rollback()
            row_errors, general = catalogue_errors(refused.fields, keys)
            status = refused.status
        else:
            db.session.commit()
            flash(_("The indicators and targets have been saved."), "success")
            return redirect(url_for("indicators.programme", programme_id=programme_id))
        programme = _programme(programme_id)  # as it is now, after the rollback
    return render_template("grants_mgmt/indicators.html", **_page(programme), may_edit=may_edit, rows=rows,
                           row_errors=row_errors, general=general), status


def _page(programme: Programme) -> dict[str, Any]:
    """The catalogue with its targets, and the progress of the programme and of each call."""
    own = indicators.own_indicators(programme)
    definitions = indicators.definitions(programme, own)
    calls = list(programme.calls)
    by_code = {row.code: row for row in own}
    catalogue = [{"indicator": indicator, "target": by_code[indicator.code].target if indicator.code in by_code
                  else None,
                  "call_targets": {t.call_id: t.target for t in by_code[indicator.code].call_targets}
                  if indicator.code in by_code else {}} for indicator in definitions]
    total, per_call = indicators.programme_progress(programme)
    per_call_by_code = {call_id: {row.indicator.code: row for row in rows} for call_id, rows in per_call.items()}
    return {"programme": programme, "calls": calls, "catalogue": catalogue, "progress": total,
            "per_call": per_call_by_code, "matrix": indicators.participants_matrix(total),
            "ages": indicators.AGE_GROUPS, "form_rows": catalogue_rows(definitions, own, calls)}
