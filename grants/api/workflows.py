"""Workflow definitions, described and drawn (administrators, officers, auditors)."""

from __future__ import annotations

from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.workflows.diagrams import describe_workflow, workflow_summaries
from grants.workflows.schemas import WorkflowDetailSchema, WorkflowSummarySchema
from grants.workflows.views import WORKFLOW_READER_ROLES

blp = Blueprint("api_workflows", __name__, description="Workflow definitions and their diagrams")


@blp.route("/workflows", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, WorkflowSummarySchema(many=True))
@authenticated(*WORKFLOW_READER_ROLES)
def list_workflows():
    """Every loaded workflow definition, by name and version, with its number of states and transitions."""
    result = workflow_summaries()
    return result


@blp.route("/workflows/<name>/<int:version>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, WorkflowDetailSchema)
@authenticated(*WORKFLOW_READER_ROLES)
def read_workflow(name: str, version: int):
    """One definition: states, transitions and its Mermaid diagram text, labels in the request language."""
    result = describe_workflow(name, version)
    db.session.commit()
    return result
