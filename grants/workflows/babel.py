"""A Babel extractor for workflow definitions: their titles, labels and statuses are msgids.

Referenced from ``babel.cfg`` (and the translation test) as
``grants.workflows.babel:extract_definitions``; the strings are translated with ``gettext``
wherever a definition is shown.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml


def _mapping(node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _messages(node, keys: tuple[str, ...], comment: str):
    for key, value in _mapping(node).items():
        if key in keys and isinstance(value, yaml.ScalarNode) and value.value:
            yield value.start_mark.line + 1, None, value.value, [f"{comment} ({key})"]


def extract_definitions(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, None, str, list[str]]]:
    """Yield ``(lineno, funcname, message, comments)`` for the title and every state's label
    and status and every transition's label; the comment says where it is used."""
    root = _mapping(yaml.compose(fileobj.read().decode("utf-8")))
    workflow = root["name"].value if "name" in root else "?"
    if "title" in root and root["title"].value:
        yield root["title"].start_mark.line + 1, None, root["title"].value, [f"workflow {workflow}"]
    for code, state in _mapping(root.get("states")).items():
        yield from _messages(state, ("label", "status"), f"workflow {workflow}, state {code}")
    transitions = root.get("transitions")
    for transition in transitions.value if isinstance(transitions, yaml.SequenceNode) else ():
        trigger = _mapping(transition).get("trigger")
        yield from _messages(transition, ("label",),
                             f"workflow {workflow}, action {trigger.value if trigger is not None else '?'}")
