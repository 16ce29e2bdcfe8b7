"""SI stage models. A stage model is data: an ordered list of stable codes with labels.

The default is the six stages of Murray, Caulier-Grice and Mulgan, *The Open Book of Social
Innovation*. Codes never change; labels are translated when shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Stage:
    code: str
    label: object  # a lazy string

    def __str__(self) -> str:
        return str(self.label)


@dataclass(frozen=True)
class StageModel:
    code: str
    title: object
    stages: tuple[Stage, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(stage.code for stage in self.stages)

    def get(self, code: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.code == code), None)

    def position(self, code: str) -> int:
        return self.codes.index(code)

    def previous(self, code: str) -> str | None:
        index = self.position(code)
        return self.codes[index - 1] if index > 0 else None

    def next(self, code: str) -> str | None:
        index = self.position(code)
        return self.codes[index + 1] if index + 1 < len(self.codes) else None


OPEN_BOOK = StageModel(
    code="open_book",
    title=_l("Open Book of Social Innovation (six stages)"),
    stages=(
        Stage("problem_identification", _l("Prompts, inspirations and diagnoses")),
        Stage("idea_generation", _l("Proposals and ideas")),
        Stage("prototyping", _l("Prototyping and pilots")),
        Stage("sustaining", _l("Sustaining")),
        Stage("scaling", _l("Scaling and diffusion")),
        Stage("systemic_change", _l("Systemic change")),
    ),
)

STAGE_MODELS: dict[str, StageModel] = {OPEN_BOOK.code: OPEN_BOOK}
DEFAULT_STAGE_MODEL = OPEN_BOOK.code
#: Every stage code of every model, for validating stored codes.
ALL_STAGE_CODES = frozenset(code for model in STAGE_MODELS.values() for code in model.codes)


def stage_label(code: str, model: str = DEFAULT_STAGE_MODEL) -> str:
    stage = STAGE_MODELS[model].get(code)
    return str(stage.label) if stage else code
