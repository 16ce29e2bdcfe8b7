"""Latvian first, English second, and no string without its Latvian translation."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "_l": None,
            "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2), "lazy_ngettext": (1, 2)}
METHODS = [("grants/**.py", "python"), ("grants/templates/**.html", "jinja2"), ("grants/templates/**.txt", "jinja2"),
           ("grants/workflows/definitions/*.yaml", "grants.workflows.babel:extract_definitions")]
PLACEHOLDER = re.compile(r"%\(\w+\)\w|\{\w+\}")


def _source_messages():
    """Every translatable string in the code and templates, as (context, msgid, place)."""
    found = []
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords=KEYWORDS):
        if not message:
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        if isinstance(message, tuple) and len(message) > 1 and context is None and isinstance(message[0], str):
            msgid = message[0]
        found.append((context, msgid, f"{filename}:{lineno}"))
    return found


def _catalogue(lang):
    with open(ROOT / "grants" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


def _missing(messages, catalogue):
    missing = []
    for context, msgid, place in messages:
        entry = catalogue.get(msgid, context=context)
        translated = entry is not None and not entry.fuzzy and (
            all(entry.string) if isinstance(entry.string, tuple) else bool(entry.string))
        if not translated:
            missing.append(f"{place}: {msgid!r}")
    return missing


def test_every_source_string_has_a_latvian_translation():
    missing = _missing(_source_messages(), _catalogue("lv"))
    assert not missing, "msgids without a Latvian translation (run `make translations-update`):\n" + "\n".join(missing)


def test_latvian_translations_keep_their_placeholders():
    wrong = [entry.id for entry in _catalogue("lv") if entry.id and isinstance(entry.id, str)
             and sorted(PLACEHOLDER.findall(entry.id)) != sorted(PLACEHOLDER.findall(entry.string or ""))]
    assert wrong == []


def test_the_check_notices_missing_empty_and_fuzzy_translations():
    """The check above would fail for a new string nobody translated, or translated badly."""
    catalogue = _catalogue("lv")
    catalogue.add("Half done", "Pusgatavs", flags=["fuzzy"])
    catalogue.add("Not yet", "")
    catalogue.add("Reserve list", "Rezerves saraksts", context="state")
    catalogue.delete("Reserve list")
    messages = [(None, "A brand new sentence.", "new.py:1"), (None, "Half done", "new.py:2"),
                (None, "Not yet", "new.py:3"), ("state", "Reserve list", "new.py:4"),
                (None, "Reserve list", "new.py:5")]
    assert _missing(messages, catalogue) == ["new.py:1: 'A brand new sentence.'", "new.py:2: 'Half done'",
                                             "new.py:3: 'Not yet'", "new.py:5: 'Reserve list'"]


def test_pages_are_latvian_by_default_and_english_on_request(client):
    lv = client.get("/").get_data(as_text=True)
    assert '<html lang="lv">' in lv and "Atvērtie konkursi" in lv
    switched = client.get("/language/en?next=/calls/", follow_redirects=True)
    en = switched.get_data(as_text=True)
    assert switched.request.path == "/calls/"
    assert '<html lang="en">' in en and "Calls for proposals" in en
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)  # remembered
    back = client.get("/language/lv", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="lv">' in back


def test_language_switch_ignores_foreign_targets_and_unknown_languages(client):
    response = client.get("/language/en?next=//evil.example/")
    assert response.headers["Location"] == "/"
    client.get("/language/xx")  # unknown: the choice made before stays
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("lang, word", [("lv", "Obligāti"), ("en", "Missing data for required field.")])
def test_api_validation_messages_are_translated(client, lang, word):
    response = client.post("/api/v1/users", json={}, headers={"Accept-Language": lang})
    assert response.status_code == 422
    messages = " ".join(m for ms in response.json["fields"].values() for m in ms)
    assert (word in messages) if lang == "en" else ("Missing data" not in messages)
