"""What the workflow endpoints read and return: actions and history of every workflow object
(applications, initiatives), and the definitions themselves described in the request's language."""

from __future__ import annotations

import marshmallow as ma


class TransitionSchema(ma.Schema):
    trigger = ma.fields.String()
    label = ma.fields.String()


class FireSchema(ma.Schema):
    trigger = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    comment = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=5000))
    version = ma.fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "The version the caller saw; a stale one gets 409."})


class HistoryEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    action = ma.fields.String()
    trigger = ma.fields.String(allow_none=True)
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    from_label = ma.fields.String(allow_none=True)
    to_label = ma.fields.String(allow_none=True)
    actor = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    comment = ma.fields.String(allow_none=True)


class WorkflowSummarySchema(ma.Schema):
    name = ma.fields.String(metadata={"description": "Stable workflow name, as pinned by calls"})
    version = ma.fields.Integer()
    title = ma.fields.String(metadata={"description": "Translated title"})
    states = ma.fields.Integer(metadata={"description": "Number of states"})
    transitions = ma.fields.Integer(metadata={"description": "Number of transitions"})


class WorkflowStateSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable state code"})
    label = ma.fields.String(metadata={"description": "Translated state name"})
    tag = ma.fields.String(metadata={"description": "Phase, e.g. draft, screening, review, decision, grant, "
                                                    "closed_positive, closed_negative"})
    status = ma.fields.String(metadata={"description": "Translated status an applicant sees in this state"})


class WorkflowTransitionSchema(ma.Schema):
    trigger = ma.fields.String()
    label = ma.fields.String(metadata={"description": "Translated action label"})
    sources = ma.fields.List(ma.fields.String(), metadata={"description": "State codes it may be fired from"})
    dest = ma.fields.String(metadata={"description": "State code it leads to"})
    roles = ma.fields.List(ma.fields.String(), metadata={"description": "Roles allowed to fire it"})
    guards = ma.fields.List(ma.fields.String(), metadata={"description": "Named guards that must all pass"})
    effects = ma.fields.List(ma.fields.String(), metadata={"description": "Named effects run when it fires"})
    auto = ma.fields.Boolean(metadata={"description": "Fired by the system as soon as its guards allow"})


class WorkflowDetailSchema(ma.Schema):
    name = ma.fields.String()
    version = ma.fields.Integer()
    title = ma.fields.String()
    initial = ma.fields.String(metadata={"description": "Code of the initial state"})
    terminal = ma.fields.List(ma.fields.String(), metadata={"description": "Codes of the terminal states"})
    states = ma.fields.List(ma.fields.Nested(WorkflowStateSchema))
    transitions = ma.fields.List(ma.fields.Nested(WorkflowTransitionSchema))
    mermaid = ma.fields.String(metadata={"description": "The diagram as Mermaid stateDiagram-v2 text"})
