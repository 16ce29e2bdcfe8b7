"""Admin pages that draw every loaded workflow definition as a diagram, with its tables."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from grants.core.headers import allow_inline_styles
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.workflows.diagrams import describe_workflow, workflow_summaries

bp = Blueprint("workflows", __name__, url_prefix="/admin/workflows")

#: Who may read workflow definitions (pages and API alike).
WORKFLOW_READER_ROLES = (RoleCode.ADMIN, RoleCode.OFFICER, RoleCode.AUDITOR)


@bp.get("/")
@login_required
@roles_required(*WORKFLOW_READER_ROLES)
def index():
    return render_template("workflows/index.html", workflows=workflow_summaries())


@bp.get("/<name>/<int:version>")
@login_required
@roles_required(*WORKFLOW_READER_ROLES)
@allow_inline_styles  # Mermaid writes a <style> into each diagram's SVG; scripts stay 'self' only
def detail(name: str, version: int):
    return render_template("workflows/detail.html", workflow=describe_workflow(name, version))
