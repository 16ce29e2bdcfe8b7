"""Initiatives: the social innovations themselves, living across calls and grants."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core import search
from grants.core.codes import REGION_LABELS, Region, label
from grants.core.db import JSONType, TimestampMixin, db, str_enum
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS
from grants.organisations.models import Organisation
from grants.workflows.engine import protect_state


class Initiative(TimestampMixin, db.Model):
    __tablename__ = "initiatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="RESTRICT"),
                                                 index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    stage_model: Mapped[str] = mapped_column(sa.String(40), default=DEFAULT_STAGE_MODEL)
    #: Current SI stage code; moved only by the initiative workflow (its ``state_field``).
    current_stage: Mapped[str] = mapped_column(sa.String(40))
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="initiative")
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: Optimistic lock, as on applications.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    theme: Mapped[str] = mapped_column(sa.String(120), default="")
    #: Target group codes or short names.
    target_groups: Mapped[list[str]] = mapped_column(JSONType, default=list)
    region: Mapped[Region | None] = mapped_column(str_enum(Region, "region"))
    #: The folded words of the title, the description and the organisation's name: what the registry's
    #: search reads (``grants.core.search``); kept by ``grants.initiatives.search`` at every flush.
    search_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="", deferred=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    #: The initiative's :class:`~grants.applications.models.Application` rows. Applications sit
    #: above initiatives in the layers, so the class is named, not imported.
    applications = relationship("Application", back_populates="initiative")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.Index("ix_initiatives_current_stage", "current_stage"),
                      # the staff list and the API, by title: a page read in index order (migration 0020)
                      sa.Index("ix_initiatives_title_id", "title", "id"),
                      search.pg_index("ix_initiatives_search"))

    @property
    def stage_label(self) -> str:
        stage = STAGE_MODELS[self.stage_model].get(self.current_stage)
        return str(stage.label) if stage else self.current_stage

    @property
    def region_label(self) -> str:
        return label(REGION_LABELS, self.region) if self.region else ""


protect_state(Initiative.current_stage)

# The search text is kept at every flush (imported here so it is whenever the models are).
from grants.initiatives import search as _search  # noqa: E402,F401
