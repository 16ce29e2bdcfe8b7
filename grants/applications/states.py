"""Labels of application states, by stable state code."""

from __future__ import annotations

from flask_babel import lazy_pgettext

STATE_LABELS = {
    "draft": lazy_pgettext("state", "Draft"),
    "submitted": lazy_pgettext("state", "Submitted"),
    "eligibility_review": lazy_pgettext("state", "Eligibility review"),
    "clarification_requested": lazy_pgettext("state", "Clarification requested"),
    "ineligible": lazy_pgettext("state", "Ineligible"),
    "in_evaluation": lazy_pgettext("state", "In evaluation"),
    "evaluated": lazy_pgettext("state", "Evaluated"),
    "approved": lazy_pgettext("state", "Approved"),
    "reserve": lazy_pgettext("state", "Reserve list"),
    "rejected": lazy_pgettext("state", "Rejected"),
    "contracted": lazy_pgettext("state", "Contracted"),
    "in_implementation": lazy_pgettext("state", "In implementation"),
    "final_report_submitted": lazy_pgettext("state", "Final report submitted"),
    "completed": lazy_pgettext("state", "Completed"),
    "terminated": lazy_pgettext("state", "Terminated"),
    "withdrawn": lazy_pgettext("state", "Withdrawn"),
    "appealed": lazy_pgettext("state", "Appealed"),
    "appeal_dismissed": lazy_pgettext("state", "Appeal dismissed"),
}


def state_label(state: str) -> str:
    label = STATE_LABELS.get(state)
    return str(label) if label is not None else state
