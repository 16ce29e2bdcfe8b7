"""Ready rulesets: the demo call's, and pieces an officer can start from.

Plain data in the shape :func:`grants.eligibility.rules.validate_ruleset` checks.
"""

from __future__ import annotations

from typing import Any


def _rule(code: str, severity: str, title_lv: str, title_en: str, message_lv: str, message_en: str,
          **how: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "title_lv": title_lv, "title_en": title_en,
            "message_lv": message_lv, "message_en": message_en, **how}


def demo_ruleset() -> list[dict[str, Any]]:
    """The demo call's rules: who may apply, what may be asked, de minimis, double funding."""
    return [
        _rule("legal_form", "blocking", "Atbilstoša juridiskā forma", "Eligible legal form",
              "Juridiskā forma {legal_form} nav starp atļautajām: {allowed}.",
              "The legal form {legal_form} is not among those allowed: {allowed}.",
              check="legal_form", params={"allowed": ["association", "foundation", "social_enterprise",
                                                      "religious_organisation"]}),
        _rule("registered_in_latvia", "blocking", "Reģistrēts Latvijā", "Registered in Latvia",
              "Organizācijai jābūt reģistrētai Latvijā (norādīts: {country}).",
              "The organisation must be registered in Latvia (given: {country}).",
              check="country", params={"countries": ["LV"]}),
        _rule("stage_funded", "blocking", "Konkursā atbalstīts SI posms", "SI stage funded by the call",
              "Konkurss neatbalsta posmu {si_stage}; atbalstītie posmi: {stages}.",
              "The call does not fund the stage {si_stage}; funded stages: {stages}.", check="stage_allowed"),
        _rule("amount_within_limits", "blocking", "Summa posma robežās", "Amount within the stage's limits",
              "Pieprasītajai summai {requested} EUR jābūt no {min_grant} līdz {max_grant} EUR.",
              "The requested {requested} EUR must be between {min_grant} and {max_grant} EUR.",
              check="amount_within_stage_limits"),
        _rule("duration", "blocking", "Projekta ilgums", "Project duration",
              "Ilgumam jābūt no {min_months} līdz {max_months} mēnešiem (norādīts: {duration_months}).",
              "The duration must be between {min_months} and {max_months} months (given: {duration_months}).",
              check="duration", params={"min_months": 3, "max_months": 24}),
        _rule("co_financing", "warning", "Līdzfinansējums", "Co-financing",
              "Ieteicams vismaz {min_share} līdzfinansējums; budžetā ir {share}.",
              "At least {min_share} co-financing is recommended; the budget has {share}.",
              check="co_financing_share", params={"min_share": "0.05"}),
        _rule("de_minimis", "blocking", "De minimis atlikums", "De minimis headroom",
              "Kopš {since} saņemtais atbalsts {received} EUR kopā ar pieprasīto {requested} EUR pārsniedz "
              "{ceiling} EUR.",
              "Aid received since {since} ({received} EUR) plus the {requested} EUR requested exceeds "
              "{ceiling} EUR.",
              check="de_minimis", params={"ceiling": "300000.00", "years": 3}),
        _rule("double_funding", "manual", "Dubultā finansējuma pārbaude", "Double-funding check",
              "Ļoti līdzīgs pieteikums citā konkursā: {match} (līdzība {similarity}). Speciālistam jāpārbauda.",
              "A very similar application in another call: {match} (similarity {similarity}). An officer checks it.",
              check="double_funding", params={"threshold": 0.85}),
        _rule("no_overdue_reports", "manual", "Nav nokavētu atskaišu un neatrisinātu neatbilstību",
              "No overdue reports or open irregularities",
              "Organizācijai ir nokavētas atskaites: {overdue}; neatgūtas neatbilstības: {irregularities}.",
              "The organisation has overdue reports: {overdue}; irregularities not recovered: {irregularities}.",
              check="no_overdue_reports"),
        _rule("summary_given", "warning", "Kopsavilkums aizpildīts", "Summary given",
              "Kopsavilkums ir ļoti īss; vērtētājiem tas palīdz saprast ideju.",
              "The summary is very short; it helps evaluators understand the idea.",
              expression="application.summary.length >= 40"),
    ]


def micro_project_rule() -> dict[str, Any]:
    """The micro-project preset of the empowerment handbook (DESIGN §5)."""
    return _rule("micro_project", "blocking", "Mikroprojekta kritēriji", "Micro-project criteria",
                 "Nav apstiprināti vai paskaidroti kritēriji: {missing}.",
                 "Not confirmed or not explained: {missing}.", check="micro_project")
