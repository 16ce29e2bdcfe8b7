"""Built-in section templates that applicants will recognise.

Each function returns a fresh section (plain dicts, safe to edit) in the shape of
:mod:`grants.forms.definitions`. Labels are bilingual *data*, not msgids: the call editor lets an
officer reword them per call, and the frozen call keeps the wording applicants saw. The Latvian
terms follow the empowerment handbook in ``shared/seeds`` (Pārmaiņu teorija, Kanvas biznesa
modelis, mikroprojekta kritēriji).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

#: Code of the budget table and of its columns; :func:`grants.forms.validation.budget_totals` reads them.
BUDGET_CODE = "budget"
BUDGET_AMOUNT = "amount"
BUDGET_CO_FINANCING = "co_financing"


def _question(code: str, kind: str, label_lv: str, label_en: str, *, required: bool = True,
              help_lv: str | None = None, help_en: str | None = None, **extra: Any) -> dict[str, Any]:
    question: dict[str, Any] = {"code": code, "type": kind, "required": required,
                                "label_lv": label_lv, "label_en": label_en}
    if help_lv or help_en:
        question["help_lv"] = help_lv or ""
        question["help_en"] = help_en or ""
    question.update(extra)
    return question


def _option(value: str, label_lv: str, label_en: str) -> dict[str, str]:
    return {"value": value, "label_lv": label_lv, "label_en": label_en}


def _section(code: str, title_lv: str, title_en: str, questions: list[dict[str, Any]], *,
             help_lv: str | None = None, help_en: str | None = None) -> dict[str, Any]:
    section: dict[str, Any] = {"code": code, "title_lv": title_lv, "title_en": title_en}
    if help_lv or help_en:
        section["help_lv"] = help_lv or ""
        section["help_en"] = help_en or ""
    section["questions"] = questions
    return section


def problem_and_target_group() -> dict[str, Any]:
    """The social problem, who lives with it, and how they took part in naming it."""
    return _section("problem", "Problēma un mērķa grupa", "Problem and target group", [
        _question("problem_description", "long_text", "Kādu sociālo problēmu iniciatīva risina?",
                  "Which social problem does the initiative address?", max_length=3000,
                  help_lv="Aprakstiet problēmu, tās cēloņus un to, kā par to zināt: dati, pieredze, "
                          "pakalpojumu lietotāju stāsti.",
                  help_en="Describe the problem, its causes and how you know about it: data, experience, "
                          "what service users say."),
        _question("target_group", "long_text", "Mērķa grupa", "Target group", max_length=2000,
                  help_lv="Kas ir cilvēki, kurus problēma skar? Kādas ir viņu vajadzības?",
                  help_en="Who are the people affected by the problem? What do they need?"),
        _question("target_group_categories", "multiple_choice", "Mērķa grupas veids", "Kind of target group",
                  options=[
                      _option("disability", "Personas ar invaliditāti", "People with disabilities"),
                      _option("seniors", "Seniori", "Older people"),
                      _option("youth", "Jaunieši", "Young people"),
                      _option("families", "Ģimenes ar bērniem", "Families with children"),
                      _option("unemployed", "Bezdarbnieki", "Unemployed people"),
                      _option("poverty", "Nabadzības riskam pakļautas personas", "People at risk of poverty"),
                      _option("migrants", "Patvēruma meklētāji, bēgļi un imigranti",
                              "Asylum seekers, refugees and migrants"),
                      _option("other", "Cita", "Other"),
                  ]),
        _question("target_group_size", "number", "Cik mērķa grupas cilvēku iniciatīva sasniegs?",
                  "How many people of the target group will the initiative reach?", min=0),
        _question("user_involvement", "long_text", "Kā mērķa grupa piedalījās problēmas apzināšanā?",
                  "How did the target group take part in identifying the problem?", max_length=2000,
                  required=False),
    ])


def theory_of_change() -> dict[str, Any]:
    """Pārmaiņu teorija: from what is put in to the long-term change, and what must hold for it."""
    def step(code: str, label_lv: str, label_en: str, help_lv: str, help_en: str) -> dict[str, Any]:
        return _question(f"toc_{code}", "long_text", label_lv, label_en, max_length=1500,
                         help_lv=help_lv, help_en=help_en)

    return _section("theory_of_change", "Pārmaiņu teorija", "Theory of Change", [
        step("inputs", "Ieguldījumi", "Inputs", "Cilvēki, laiks, finansējums, telpas, partnerības.",
             "People, time, money, premises, partnerships."),
        step("activities", "Aktivitātes", "Activities", "Ko darīsiet ar šiem resursiem?",
             "What will you do with these resources?"),
        step("outputs", "Iznākumi", "Outputs", "Tiešie, saskaitāmie darbību iznākumi (piemēram, dalībnieku skaits).",
             "The direct, countable products of the activities (for example, the number of participants)."),
        step("outcomes", "Rezultāti", "Outcomes", "Kādas pārmaiņas notiks mērķa grupas dzīvē?",
             "Which changes will happen in the lives of the target group?"),
        step("impact", "Ietekme", "Impact", "Ilgtermiņa pārmaiņas sabiedrībā, uz kurām iniciatīva dod ieguldījumu.",
             "The long-term change in society the initiative contributes to."),
        step("assumptions", "Pieņēmumi", "Assumptions", "Kam jābūt patiesam, lai šī pārmaiņu ķēde darbotos?",
             "What must be true for this chain of change to work?"),
    ], help_lv="Parādiet, kā iniciatīvas darbības novedīs pie vēlamajām pārmaiņām.",
        help_en="Show how the initiative's activities will lead to the change you want.")


def business_model_canvas() -> dict[str, Any]:
    """Kanvas biznesa modelis: the nine blocks, in the canvas's usual reading order."""
    blocks = [
        ("customer_segments", "Klientu segmenti", "Customer segments",
         "Kam iniciatīva rada vērtību? Kas maksā un kas saņem pakalpojumu?",
         "For whom does the initiative create value? Who pays and who receives the service?"),
        ("value_propositions", "Vērtības piedāvājumi", "Value propositions",
         "Kādu problēmu risināt vai kādu vajadzību apmierināt katram segmentam?",
         "Which problem do you solve or which need do you meet for each segment?"),
        ("channels", "Kanāli", "Channels", "Kā sasniegsiet klientus un sniegsiet pakalpojumu?",
         "How will you reach your customers and deliver the service?"),
        ("customer_relationships", "Klientu attiecības", "Customer relationships",
         "Kādas attiecības veidosiet ar katru segmentu?", "What relationship will you build with each segment?"),
        ("revenue_streams", "Ieņēmumu plūsmas", "Revenue streams",
         "No kurienes nāks ienākumi: maksa par pakalpojumiem, līgumi, ziedojumi, dotācijas?",
         "Where will income come from: fees, contracts, donations, grants?"),
        ("key_resources", "Galvenie resursi", "Key resources",
         "Kādi resursi ir nepieciešami: cilvēki, zināšanas, telpas, aprīkojums?",
         "Which resources are needed: people, know-how, premises, equipment?"),
        ("key_activities", "Galvenās aktivitātes", "Key activities",
         "Kas jādara, lai vērtības piedāvājums darbotos?", "What must be done for the value proposition to work?"),
        ("key_partners", "Galvenie partneri", "Key partners",
         "Kas ir jūsu galvenie partneri un piegādātāji?", "Who are your key partners and suppliers?"),
        ("cost_structure", "Izmaksu struktūra", "Cost structure",
         "Kādas ir svarīgākās izmaksas un kuras darbības ir visdārgākās?",
         "What are the most important costs, and which activities cost most?"),
    ]
    return _section("business_model_canvas", "Biznesa modeļa kanva", "Business Model Canvas", [
        _question(f"bmc_{code}", "long_text", label_lv, label_en, max_length=1000, help_lv=help_lv, help_en=help_en)
        for code, label_lv, label_en, help_lv, help_en in blocks
    ], help_lv="Kanvas biznesa modeļa deviņi pamata bloki: kā iniciatīva radīs, sniegs un noturēs vērtību.",
        help_en="The nine building blocks of the Business Model Canvas: how the initiative creates, delivers and "
                "sustains value.")


def budget_with_cofinancing() -> dict[str, Any]:
    """Budget rows with their co-financing; the requested amount and the share are derived, not asked."""
    categories = [
        _option("staff", "Personāla izmaksas", "Staff costs"),
        _option("services", "Pakalpojumi", "Services"),
        _option("equipment", "Aprīkojums un materiāli", "Equipment and supplies"),
        _option("premises", "Telpas", "Premises"),
        _option("travel", "Transports un komandējumi", "Travel"),
        _option("communication", "Komunikācija un publicitāte", "Communication and publicity"),
        _option("other", "Citas izmaksas", "Other costs"),
    ]
    columns = [
        {"code": "item", "type": "short_text", "required": True, "label_lv": "Izmaksu pozīcija",
         "label_en": "Cost item", "max_length": 200},
        {"code": "category", "type": "single_choice", "required": True, "label_lv": "Kategorija",
         "label_en": "Category", "options": categories},
        {"code": BUDGET_AMOUNT, "type": "money", "required": True, "label_lv": "Kopējās izmaksas, EUR",
         "label_en": "Total cost, EUR", "min": 0},
        {"code": BUDGET_CO_FINANCING, "type": "money", "required": False, "label_lv": "Līdzfinansējums, EUR",
         "label_en": "Co-financing, EUR", "min": 0, "not_more_than": BUDGET_AMOUNT},
    ]
    return _section("budget", "Budžets un līdzfinansējums", "Budget and co-financing", [
        _question(BUDGET_CODE, "table", "Budžeta pozīcijas", "Budget lines", columns=columns, min_rows=1,
                  max_rows=100,
                  help_lv="Katrai pozīcijai norādiet kopējās izmaksas un to daļu, ko sedz līdzfinansējums. "
                          "Pieprasītā summa ir kopējo izmaksu un līdzfinansējuma starpība.",
                  help_en="For each line give the total cost and the part covered by co-financing. The amount "
                          "requested is the total cost less the co-financing."),
        _question("co_financing_sources", "long_text", "Līdzfinansējuma avoti", "Sources of co-financing",
                  max_length=1000, required=False,
                  help_lv="Kas nodrošinās līdzfinansējumu: pašu līdzekļi, pašvaldība, ziedotāji, brīvprātīgo darbs?",
                  help_en="Who provides the co-financing: own funds, the municipality, donors, volunteer work?"),
    ])


def micro_project() -> dict[str, Any]:
    """The three micro-project criteria of the empowerment handbook (DESIGN §5), each with its evidence."""
    criteria = [
        ("initiated_by_users",
         "Vai iniciatīvu vismaz daļēji ierosināja pakalpojumu lietotāji?",
         "Was the initiative initiated at least partly by service users?",
         "Paskaidrojiet, kā pakalpojumu lietotāji ierosināja iniciatīvu un kā viņi piedalās tās īstenošanā.",
         "Explain how service users initiated the initiative and how they take part in carrying it out."),
        ("specific_needs",
         "Vai iniciatīva reaģē uz nelabvēlīgā situācijā esošas grupas īpašajām vajadzībām?",
         "Does the initiative respond to the specific needs of a disadvantaged group?",
         "Paskaidrojiet, kuras grupas vajadzības un kā iniciatīva tās apmierina.",
         "Explain which group's needs the initiative meets, and how."),
        ("new_service",
         "Vai iniciatīva sniedz pakalpojumu, kas iepriekš nebija pieejams, vai izmanto nesen izstrādātu pieeju?",
         "Does the initiative provide a service not available before, or a newly developed approach?",
         "Paskaidrojiet, kas ir jauns salīdzinājumā ar līdz šim pieejamajiem pakalpojumiem.",
         "Explain what is new compared with the services available so far."),
    ]
    questions: list[dict[str, Any]] = []
    for code, label_lv, label_en, explain_lv, explain_en in criteria:
        questions.append(_question(f"mp_{code}", "yes_no", label_lv, label_en))
        questions.append(_question(f"mp_{code}_explanation", "long_text", explain_lv, explain_en, max_length=1500))
    return _section("micro_project", "Mikroprojekta kritēriji", "Micro-project criteria", questions,
                    help_lv="Mikroprojekts ir maza mēroga vietēja iniciatīva, kas uzlabo nelabvēlīgā situācijā "
                            "esošas mērķgrupas dzīves apstākļus.",
                    help_en="A micro-project is a small local initiative that improves the living conditions of a "
                            "disadvantaged target group.")


@dataclass(frozen=True)
class SectionTemplate:
    """A built-in section the form editor offers: its code (the section's), translated name and maker."""

    code: str
    title: Any
    build: Callable[[], dict[str, Any]]


#: The built-in sections by code, in the order :func:`default_form` uses them.
SECTION_TEMPLATES: dict[str, SectionTemplate] = {template.code: template for template in (
    SectionTemplate("problem", _l("Problem and target group"), problem_and_target_group),
    SectionTemplate("theory_of_change", _l("Theory of Change"), theory_of_change),
    SectionTemplate("business_model_canvas", _l("Business Model Canvas"), business_model_canvas),
    SectionTemplate("budget", _l("Budget with co-financing"), budget_with_cofinancing),
    SectionTemplate("micro_project", _l("Micro-project questions"), micro_project),
)}


def default_form() -> list[dict[str, Any]]:
    """All built-in sections, in the order an applicant tells their story: the demo's form."""
    return [problem_and_target_group(), theory_of_change(), business_model_canvas(), budget_with_cofinancing(),
            micro_project()]
