"""Workflow diagrams: every loaded definition drawn and described from its own data.

:func:`mermaid_text` turns a definition into Mermaid ``stateDiagram-v2`` text (drawn in the
browser by the vendored ``static/vendor/mermaid/mermaid.min.js``, no network);
:func:`describe` gives the same definition as plain data for the accessible tables and the
API. Labels, titles and statuses in the YAML are msgids, translated here with ``translate``
(gettext by default) at display time; codes stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import gettext, lazy_pgettext

from grants.core.errors import NotFound
from grants.core.roles import ROLE_LABELS
from grants.workflows import engine
from grants.workflows.definitions import SYSTEM, WorkflowDefinition

Translate = Callable[[str], str]

#: One Mermaid class per state tag (DESIGN §4), in the order phases usually follow; a state
#: with a tag not listed here is drawn unstyled. The classes are named ``tag_<tag>`` so they
#: stay apart from state ids such as ``draft``.
TAG_STYLES = {
    "draft": "fill:#eef1f5,stroke:#5b6475,color:#1d2330",
    "screening": "fill:#e6f0f7,stroke:#0b5c8a,color:#1d2330",
    "review": "fill:#fff2d6,stroke:#8a5a00,color:#1d2330",
    "decision": "fill:#efe6f7,stroke:#5b2a86,color:#1d2330",
    "grant": "fill:#dff1e5,stroke:#1e6b3a,color:#1d2330",
    "closed_positive": "fill:#1e6b3a,stroke:#14482a,color:#ffffff",
    "closed_negative": "fill:#f6e0e2,stroke:#9e3039,color:#1d2330",
    "stage": "fill:#e3f4f4,stroke:#176d6d,color:#1d2330",
}

#: Names of the tags, for the legend and the tables (the tag colours are repeated in grants.css).
TAG_LABELS = {
    "draft": lazy_pgettext("workflow phase", "Draft"),
    "screening": lazy_pgettext("workflow phase", "Screening"),
    "review": lazy_pgettext("workflow phase", "Review"),
    "decision": lazy_pgettext("workflow phase", "Decision"),
    "grant": lazy_pgettext("workflow phase", "Grant"),
    "closed_positive": lazy_pgettext("workflow phase", "Closed, positive outcome"),
    "closed_negative": lazy_pgettext("workflow phase", "Closed, negative outcome"),
    "stage": lazy_pgettext("workflow phase", "SI stage"),
}

# Mermaid reads ``#<number>;`` as a character entity; every character that could end a label,
# open a quoted string, a block, a comment, markup or an entity is written that way.
_ESCAPES = str.maketrans({char: f"#{ord(char)};" for char in '#"\':;[]{}<>&%`|\\'})
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SAFE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# Words of the stateDiagram grammar that must not be used as a bare state id.
_RESERVED_IDS = frozenset({"as", "class", "classdef", "click", "default", "direction", "end", "hide", "note",
                           "scale", "state", "style", "acctitle", "accdescr", "linkstyle"})


def escape_label(text: str) -> str:
    """``text`` made safe inside a Mermaid label: one line, no syntax characters."""
    return _CONTROL.sub(" ", str(text)).strip().translate(_ESCAPES)


def _translated(translate: Translate, msgid: str) -> str:
    # gettext("") would return the catalogue's header, not an empty string.
    return str(translate(msgid)) if msgid else ""


def state_ids(definition: WorkflowDefinition) -> dict[str, str]:
    """Mermaid id of each state: its code, unless the code is not a plain identifier."""
    ids: dict[str, str] = {}
    for position, code in enumerate(definition.states):
        safe = _SAFE_ID.match(code) and code.lower() not in _RESERVED_IDS and not code.startswith("state_")
        ids[code] = code if safe else f"state_{position}"
    return ids


def edge_label(transition, translate: Translate = gettext) -> str:
    """``Label [role, role] (guard, guard)``, escaped for Mermaid."""
    text = escape_label(_translated(translate, transition.label))
    text += f" [{', '.join(escape_label(role) for role in sorted(transition.roles))}]"
    if transition.guards:
        text += f" ({', '.join(escape_label(guard) for guard in transition.guards)})"
    return text


def mermaid_text(definition: WorkflowDefinition, translate: Translate = gettext) -> str:
    """The definition as Mermaid ``stateDiagram-v2`` text.

    States are declared with their translated labels and styled by tag; ``[*] -->`` marks the
    initial state and ``--> [*]`` each terminal one; every transition is one edge per source,
    labelled with its translated label, the roles that may fire it and its guards.
    """
    ids = state_ids(definition)
    lines = ["stateDiagram-v2"]
    lines += [f"    classDef tag_{tag} {style}" for tag, style in TAG_STYLES.items()]
    lines += [f'    state "{escape_label(_translated(translate, state.label))}" as {ids[code]}'
              for code, state in definition.states.items()]
    lines.append(f"    [*] --> {ids[definition.initial]}")
    for transition in definition.transitions:
        label = edge_label(transition, translate)
        lines += [f"    {ids[source]} --> {ids[transition.dest]} : {label}" for source in transition.sources]
    lines += [f"    {ids[code]} --> [*]" for code in definition.states if code in definition.terminal]
    by_tag: dict[str, list[str]] = {}
    for code, state in definition.states.items():
        by_tag.setdefault(state.tag, []).append(ids[code])
    lines += [f"    class {','.join(members)} tag_{tag}" for tag, members in by_tag.items() if tag in TAG_STYLES]
    return "\n".join(lines) + "\n"


def _role_labels(roles: Iterable[str]) -> dict[str, str]:
    labels = {str(code): str(label) for code, label in ROLE_LABELS.items()}
    labels[SYSTEM] = gettext("system")
    return {role: labels.get(role, role) for role in roles}


def describe(definition: WorkflowDefinition, translate: Translate = gettext) -> dict[str, Any]:
    """The definition as plain data in the current language, with its Mermaid text."""
    states = [{"code": code, "label": _translated(translate, state.label), "tag": state.tag,
               "status": _translated(translate, state.status), "is_initial": code == definition.initial,
               "is_terminal": code in definition.terminal}
              for code, state in definition.states.items()]
    transitions = [{"trigger": t.trigger, "label": _translated(translate, t.label), "sources": list(t.sources),
                    "dest": t.dest, "roles": sorted(t.roles), "guards": list(t.guards), "effects": list(t.effects),
                    "auto": bool(getattr(t, "auto", False))}
                   for t in definition.transitions]
    used = {state.tag for state in definition.states.values()}
    tags = [tag for tag in TAG_STYLES if tag in used] + sorted(used - set(TAG_STYLES))
    return {
        "name": definition.name,
        "version": definition.version,
        "title": _translated(translate, definition.title),
        "initial": definition.initial,
        "terminal": [code for code in definition.states if code in definition.terminal],
        "states": states,
        "transitions": transitions,
        "mermaid": mermaid_text(definition, translate),
        # For pages: names to show next to codes.
        "state_labels": {state["code"]: state["label"] for state in states},
        "tag_labels": {tag: str(TAG_LABELS[tag]) if tag in TAG_LABELS else tag for tag in tags},
        "role_labels": _role_labels({role for t in definition.transitions for role in t.roles}),
    }


def workflow_summaries(translate: Translate = gettext) -> list[dict[str, Any]]:
    """Every loaded definition, by name then version: name, version, title and sizes."""
    return [{"name": d.name, "version": d.version, "title": _translated(translate, d.title),
             "states": len(d.states), "transitions": len(d.transitions)}
            for _key, d in sorted(engine.definitions().items())]


def describe_workflow(name: str, version: int, translate: Translate = gettext) -> dict[str, Any]:
    """:func:`describe` of the definition ``name`` v``version``; :class:`NotFound` when there is none."""
    definition = engine.definitions().get((name, version))
    if definition is None:
        raise NotFound()
    return describe(definition, translate)
