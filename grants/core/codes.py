"""Code lists of the API contract: stable codes, translated labels."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class LegalForm(enum.StrEnum):
    ASSOCIATION = "association"
    FOUNDATION = "foundation"
    RELIGIOUS_ORGANISATION = "religious_organisation"
    SOCIAL_ENTERPRISE = "social_enterprise"
    COMPANY = "company"
    MUNICIPALITY = "municipality"
    PUBLIC_INSTITUTION = "public_institution"
    INFORMAL_GROUP = "informal_group"


LEGAL_FORM_LABELS = {
    LegalForm.ASSOCIATION: _l("Association"),
    LegalForm.FOUNDATION: _l("Foundation"),
    LegalForm.RELIGIOUS_ORGANISATION: _l("Religious organisation"),
    LegalForm.SOCIAL_ENTERPRISE: _l("Social enterprise"),
    LegalForm.COMPANY: _l("Company"),
    LegalForm.MUNICIPALITY: _l("Municipality"),
    LegalForm.PUBLIC_INSTITUTION: _l("Public institution"),
    LegalForm.INFORMAL_GROUP: _l("Informal group"),
}


class Region(enum.StrEnum):
    """Latvia's planning regions."""

    RIGA = "riga"
    VIDZEME = "vidzeme"
    KURZEME = "kurzeme"
    ZEMGALE = "zemgale"
    LATGALE = "latgale"


REGION_LABELS = {
    Region.RIGA: _l("Rīga"),
    Region.VIDZEME: _l("Vidzeme"),
    Region.KURZEME: _l("Kurzeme"),
    Region.ZEMGALE: _l("Zemgale"),
    Region.LATGALE: _l("Latgale"),
}


class FundSource(enum.StrEnum):
    ESF_PLUS = "esf_plus"
    EEA_NORWAY = "eea_norway"
    NATIONAL = "national"
    MUNICIPAL = "municipal"
    PRIVATE = "private"


FUND_SOURCE_LABELS = {
    FundSource.ESF_PLUS: _l("European Social Fund Plus (ESF+)"),
    FundSource.EEA_NORWAY: _l("EEA and Norway Grants"),
    FundSource.NATIONAL: _l("State budget"),
    FundSource.MUNICIPAL: _l("Municipal budget"),
    FundSource.PRIVATE: _l("Private donors"),
}


def label(labels: dict, code) -> str:
    """The translated label of ``code``, or the code itself when it has none."""
    try:
        return str(labels[code])
    except KeyError:
        return str(code)
