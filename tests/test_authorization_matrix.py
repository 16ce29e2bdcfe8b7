"""Who may use each route: every route of the app (``app.url_map``: pages and API, each method) as every
role, against the status code the table below expects.

A route without a row fails (the message names it and what it answered), so a new route cannot be added
without deciding who may use it; a row naming no route fails too. The URLs name objects of one seeded
world (tests/world.py: the demo and the objects around it) owned by ``applicant@demo.lv``.

Columns (roles):

  anon  not signed in (pages redirect to the sign-in page: 302; the API answers 401)
  own   applicant@demo.lv, a member of the organisation that owns the object
  oth   applicant2@demo.lv, an applicant of another organisation
  ev+   evaluator1@demo.lv, assigned to the owner's evaluated application and stage-gated grant, having
        declared no conflict of interest (its selection reviews are in; the gate's is still to declare)
  ev-   evaluator4@demo.lv, assigned to neither
  off, com, fin, aud, adm   the demo's officer, committee member, finance officer, auditor, administrator

Unsafe methods send a small body (BODIES below): the CSRF token on pages, under /api a JSON body (``{}``,
or the least that passes validation where the schema is read before the object is authorised, so that the
answer is authorisation's, not the schema's). A role allowed to use a route may so get 400, 409 or 422, or
on a page a redirect after a refusal it explains (nothing was wrong with *who* asked); a role not allowed
gets 401, 403 or 404 (on a page, anonymous people are sent to sign in: 302).
Each request runs in a savepoint rolled back afterwards: every row sees the same world.
"""

from __future__ import annotations

import contextvars
import io
import re
from datetime import date

import pytest
from flask.testing import FlaskClient

from grants import create_app
from grants.core.db import db
from grants.core.extensions import limiter
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, pdf_bytes
from tests.world import build_world

ROLES = ("anonymous", "owner", "other_applicant", "evaluator", "other_evaluator", "officer", "committee",
         "finance", "auditor", "admin")
COLUMNS = ("anon", "own", "oth", "ev+", "ev-", "off", "com", "fin", "aud", "adm")

# --- the table ----------------------------------------------------------------------------------------------

TABLE = """
# method route (as in app.url_map, converters left out)                       anon own oth ev+ ev- off com fin aud adm
# --- api-docs: the OpenAPI document: public
GET    /api/v1/openapi.json                                                    200 200 200 200 200 200 200 200 200 200
# --- api_applications: applications (grants/api/applications.py); writes on the owner's draft
GET    /api/v1/applications                                                    401 200 200 200 200 200 200 200 200 200
POST   /api/v1/applications                                                    401 422 422 403 403 403 403 403 403 403
GET    /api/v1/applications/<application_id>                                   401 200 404 200 404 200 200 200 200 200
PATCH  /api/v1/applications/<application_id>                                   401 200 404 403 403 403 403 403 403 403
GET    /api/v1/applications/<application_id>/attachments                       401 200 404 200 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/attachments                       401 201 404 404 404 403 403 403 403 403
DELETE /api/v1/applications/<application_id>/attachments/<attachment_id>       401 204 404 404 404 403 403 403 403 403
GET    /api/v1/applications/<application_id>/attachments/<attachment_id>       401 200 404 404 404 200 200 200 200 200
GET    /api/v1/applications/<application_id>/history                           401 200 404 200 404 200 200 200 200 200
GET    /api/v1/applications/<application_id>/transitions                       401 200 404 200 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/transitions                       401 200 404 404 404 403 403 403 403 403
# bulk actions on a selection of the list: officers and administrators (the empty body is refused: 422)
POST   /api/v1/applications/bulk/assign                                        401 403 403 403 403 422 403 403 403 422
POST   /api/v1/applications/bulk/export                                        401 403 403 403 403 422 403 403 403 422
# --- api_audit: the audit trail: auditors and administrators
GET    /api/v1/audit/events                                                    401 403 403 403 403 403 403 403 200 200
GET    /api/v1/audit/export                                                    401 403 403 403 403 403 403 403 200 200
GET    /api/v1/audit/verifications                                             401 403 403 403 403 403 403 403 200 200
GET    /api/v1/audit/verifications/<verification_id>                           401 403 403 403 403 403 403 403 200 200
GET    /api/v1/audit/verify                                                    401 403 403 403 403 403 403 403 200 200
# --- api_auth: tokens and self-registration
POST   /api/v1/auth/tokens                                                     422 422 422 422 422 422 422 422 422 422
DELETE /api/v1/auth/tokens/current                                             401 204 204 204 204 204 204 204 204 204
GET    /api/v1/me                                                              401 200 200 200 200 200 200 200 200 200
POST   /api/v1/users                                                           422 422 422 422 422 422 422 422 422 422
# --- api_calls: calls: published ones public; programme staff who edit calls (officers, administrators)
GET    /api/v1/calls                                                           200 200 200 200 200 200 200 200 200 200
POST   /api/v1/calls                                                           401 403 403 403 403 422 403 403 403 422
GET    /api/v1/calls/<call_id>                                                 200 200 200 200 200 200 200 200 200 200
PATCH  /api/v1/calls/<call_id>                                                 401 403 403 403 403 200 403 403 403 200
POST   /api/v1/calls/<call_id>/corrigenda                                      401 403 403 403 403 422 403 403 403 422
GET    /api/v1/calls/<call_id>/form                                            200 200 200 200 200 200 200 200 200 200
POST   /api/v1/calls/<call_id>/publish                                         401 403 403 403 403 200 403 403 403 200
GET    /api/v1/calls/<call_id>/versions                                        401 403 403 403 403 200 403 403 403 200
# --- api_de_minimis: the de minimis register: officers and finance keep it, auditors read it
GET    /api/v1/de-minimis                                                      401 403 403 403 403 200 403 200 200 200
POST   /api/v1/de-minimis                                                      401 403 403 403 403 422 403 422 403 422
GET    /api/v1/de-minimis/headroom                                             401 403 403 403 403 200 403 200 200 200
POST   /api/v1/de-minimis/import                                               401 403 403 403 403 422 403 422 403 422
# --- api_decisions: the committee's decisions (on the owner's evaluated application) and the ranking
GET    /api/v1/applications/<application_id>/decision                          401 200 404 200 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/decision                          401 403 403 403 403 403 422 403 403 403
GET    /api/v1/calls/<call_id>/ranking                                         401 403 403 403 403 200 200 403 200 200
GET    /api/v1/calls/<call_id>/ranking/envelopes                               401 403 403 403 403 200 200 403 200 200
# --- api_eligibility: eligibility results; officers decide manual rules (on the other applicant's submission)
GET    /api/v1/applications/<application_id>/eligibility                       401 200 404 200 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/eligibility/<rule_code>/decision  401 403 403 403 403 422 403 403 403 403
# --- api_evaluation_admin: evaluation of the closed call, run by officers (and administrators)
POST   /api/v1/assignments/<assignment_id>/reassign                            401 403 403 403 403 422 403 403 403 422
POST   /api/v1/assignments/<assignment_id>/return                              401 403 403 403 403 422 403 403 403 422
GET    /api/v1/calls/<call_id>/assignments                                     401 403 403 403 403 200 403 403 200 200
POST   /api/v1/calls/<call_id>/assignments/auto                                401 403 403 403 403 200 403 403 403 200
GET    /api/v1/calls/<call_id>/evaluation                                      401 403 403 403 403 200 403 403 200 200
GET    /api/v1/calls/<call_id>/evaluators                                      401 403 403 403 403 200 403 403 200 200
POST   /api/v1/calls/<call_id>/evaluators                                      401 403 403 403 403 422 403 403 403 422
DELETE /api/v1/calls/<call_id>/evaluators/<user_id>                            401 403 403 403 403 204 403 403 403 204
GET    /api/v1/calls/<call_id>/rubric                                          401 403 403 403 403 200 200 200 200 200
PUT    /api/v1/calls/<call_id>/rubric                                          401 403 403 403 403 422 403 403 403 422
# --- api_evaluations: an evaluator's own assignments (ev+'s), review and relations
GET    /api/v1/assignments                                                     401 403 403 200 200 403 403 403 403 403
GET    /api/v1/assignments/<assignment_id>                                     401 403 403 200 404 403 403 403 403 403
POST   /api/v1/assignments/<assignment_id>/declaration                         401 403 403 200 404 403 403 403 403 403
GET    /api/v1/assignments/<assignment_id>/review                              401 403 403 200 404 403 403 403 403 403
PUT    /api/v1/assignments/<assignment_id>/review                              401 403 403 409 404 403 403 403 403 403
GET    /api/v1/relations                                                       401 403 403 200 200 403 403 403 403 403
POST   /api/v1/relations                                                       401 403 403 422 422 403 403 403 403 403
DELETE /api/v1/relations/<relation_id>                                         401 403 403 204 404 403 403 403 403 403
# --- api_exports: exports: officers, auditors (and administrators); the list of operations public once published
GET    /api/v1/exports                                                         401 403 403 403 403 200 403 403 200 200
POST   /api/v1/exports                                                         401 403 403 403 403 422 403 403 422 422
GET    /api/v1/exports/360giving                                               401 403 403 403 403 200 403 403 200 200
GET    /api/v1/exports/<export_id>                                             401 403 403 403 403 200 403 403 200 200
GET    /api/v1/exports/<export_id>/download                                    401 403 403 403 403 200 403 403 200 200
POST   /api/v1/exports/<export_id>/retry                                       401 403 403 403 403 409 403 403 409 409
GET    /api/v1/exports/operations                                              401 403 403 403 403 200 403 403 200 200
POST   /api/v1/programmes/<programme_id>/operations/publish                    401 403 403 403 403 204 403 403 403 403
# --- api_forms: the form sections a call may use: public
GET    /api/v1/forms/templates                                                 200 200 200 200 200 200 200 200 200 200
# --- api_grants: grants after award (the owner's stage-gated grant): officers manage, finance pays
GET    /api/v1/applications/<application_id>/agreement                         401 200 404 404 404 200 200 200 200 200
PUT    /api/v1/applications/<application_id>/agreement                         401 403 403 403 403 409 403 403 403 403
GET    /api/v1/applications/<application_id>/agreement/file                    401 200 404 404 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/agreement/file                    401 403 403 403 403 409 403 403 403 403
POST   /api/v1/applications/<application_id>/gate-decision                     401 403 403 403 403 403 422 403 403 403
GET    /api/v1/applications/<application_id>/grant-reports                     401 200 404 404 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/grant-reports                     401 422 404 403 403 403 403 403 403 403
GET    /api/v1/applications/<application_id>/indicators                        401 200 404 404 404 200 200 200 200 200
GET    /api/v1/applications/<application_id>/irregularities                    401 200 404 404 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/irregularities                    401 403 403 403 403 422 403 403 403 403
GET    /api/v1/applications/<application_id>/payments                          401 200 404 404 404 200 200 200 200 200
POST   /api/v1/applications/<application_id>/payments                          401 403 403 403 403 422 403 403 403 403
GET    /api/v1/calls/<call_id>/indicators                                      401 403 403 403 403 200 200 200 200 200
# officers take an agreement scan back (this one is signed: 409), a report's files its grantee; nobody else
DELETE /api/v1/grant-files/<file_id>                                           401 403 404 404 404 409 403 403 403 403
GET    /api/v1/grant-files/<file_id>                                           401 200 404 404 404 200 200 200 200 200
GET    /api/v1/grant-reports/<report_id>                                       401 200 404 404 404 200 200 200 200 200
PATCH  /api/v1/grant-reports/<report_id>                                       401 409 404 403 403 403 403 403 403 403
GET    /api/v1/grant-reports/<report_id>/files                                 401 200 404 404 404 200 200 200 200 200
POST   /api/v1/grant-reports/<report_id>/files                                 401 409 404 403 403 403 403 403 403 403
GET    /api/v1/grant-reports/<report_id>/history                               401 200 404 404 404 200 200 200 200 200
GET    /api/v1/grant-reports/<report_id>/transitions                           401 200 404 404 404 200 200 200 200 200
POST   /api/v1/grant-reports/<report_id>/transitions                           401 409 404 404 404 403 403 403 403 403
GET    /api/v1/grants                                                          401 200 200 200 200 200 200 200 200 200
GET    /api/v1/irregularities                                                  401 403 403 403 403 200 200 200 200 200
GET    /api/v1/irregularities/<irregularity_id>                                401 404 404 404 404 200 200 200 200 200
POST   /api/v1/irregularities/<irregularity_id>/recovery-orders                401 403 403 403 403 422 403 403 403 403
POST   /api/v1/irregularities/<irregularity_id>/transitions                    401 404 404 404 404 200 403 403 403 403
GET    /api/v1/payments                                                        401 403 403 403 403 200 200 200 200 200
GET    /api/v1/payments/<payment_id>                                           401 200 404 404 404 200 200 200 200 200
GET    /api/v1/payments/<payment_id>/history                                   401 200 404 404 404 200 200 200 200 200
GET    /api/v1/payments/<payment_id>/transitions                               401 200 404 404 404 200 200 200 200 200
POST   /api/v1/payments/<payment_id>/transitions                               401 403 404 404 404 409 403 409 403 403
GET    /api/v1/programmes/<programme_id>/indicators                            401 403 403 403 403 200 200 200 200 200
PUT    /api/v1/programmes/<programme_id>/indicators                            401 403 403 403 403 422 403 403 403 422
GET    /api/v1/programmes/<programme_id>/indicators/progress                   401 403 403 403 403 200 200 200 200 200
POST   /api/v1/recovery-orders/<order_id>/receipts                             401 403 403 403 403 422 403 422 403 403
# --- api_initiatives: initiatives: their organisation's members and staff; officers move the SI stage
GET    /api/v1/initiatives                                                     401 200 200 200 200 200 200 200 200 200
POST   /api/v1/initiatives                                                     401 422 422 403 403 403 403 403 403 403
GET    /api/v1/initiatives/<initiative_id>                                     401 200 404 404 404 200 200 200 200 200
PATCH  /api/v1/initiatives/<initiative_id>                                     401 200 404 403 403 403 403 403 403 403
GET    /api/v1/initiatives/<initiative_id>/history                             401 200 404 404 404 200 200 200 200 200
GET    /api/v1/initiatives/<initiative_id>/transitions                         401 200 404 404 404 200 200 200 200 200
POST   /api/v1/initiatives/<initiative_id>/transitions                         401 403 404 404 404 409 403 403 403 403
# --- api_notices: a person's in-app notifications: their own
GET    /api/v1/notifications                                                   401 200 200 200 200 200 200 200 200 200
POST   /api/v1/notifications/read                                              401 200 200 200 200 200 200 200 200 200
# --- api_organisations: organisations: their members; staff read them
# anyone signed in may accept an invitation, which the service checks was sent to their address
POST   /api/v1/invitations/accept                                              401 422 422 422 422 422 422 422 422 422
GET    /api/v1/organisations                                                   401 200 200 200 200 200 200 200 200 200
POST   /api/v1/organisations                                                   401 422 422 403 403 403 403 403 403 403
GET    /api/v1/organisations/<organisation_id>                                 401 200 404 404 404 200 200 200 200 200
PATCH  /api/v1/organisations/<organisation_id>                                 401 200 404 403 403 403 403 403 403 403
POST   /api/v1/organisations/<organisation_id>/invitations                     401 201 404 403 403 403 403 403 403 403
GET    /api/v1/organisations/<organisation_id>/members                         401 200 404 404 404 200 200 200 200 200
# --- api_outbox: the outbox: officers and administrators
GET    /api/v1/outbox                                                          401 403 403 403 403 200 403 403 403 200
# --- api_programmes: programmes: staff read them; officers and administrators create and change them
GET    /api/v1/programmes                                                      401 403 403 403 403 200 200 200 200 200
POST   /api/v1/programmes                                                      401 403 403 403 403 422 403 403 403 422
GET    /api/v1/programmes/<programme_id>                                       401 403 403 403 403 200 200 200 200 200
PATCH  /api/v1/programmes/<programme_id>                                       401 403 403 403 403 200 403 403 403 200
# --- api_registry: the public SI registry
GET    /api/v1/registry/export                                                 200 200 200 200 200 200 200 200 200 200
GET    /api/v1/registry/initiatives                                            200 200 200 200 200 200 200 200 200 200
GET    /api/v1/registry/initiatives/<initiative_id>                            200 200 200 200 200 200 200 200 200 200
GET    /api/v1/registry/overview/<year>                                        200 200 200 200 200 200 200 200 200 200
# --- api_reports: funder reports: officers, auditors, administrators
GET    /api/v1/reports/calls/<call_id>                                         401 403 403 403 403 200 403 403 200 200
GET    /api/v1/reports/programmes/<programme_id>                               401 403 403 403 403 200 403 403 200 200
# --- api_rulesets: eligibility rules of calls: public to read; officers edit; staff preview
GET    /api/v1/calls/<call_id>/eligibility-rules                               200 200 200 200 200 200 200 200 200 200
PUT    /api/v1/calls/<call_id>/eligibility-rules                               401 403 403 403 403 422 403 403 403 422
# a preview stores nothing: any staff role (the page's preview is the rule editors')
POST   /api/v1/calls/<call_id>/eligibility-rules/preview                       401 403 403 403 403 422 422 422 422 422
GET    /api/v1/eligibility/checks                                              200 200 200 200 200 200 200 200 200 200
# --- api_users: a person's data (GDPR): the person, administrators
GET    /api/v1/users                                                           401 403 403 403 403 403 403 403 403 200
PUT    /api/v1/users/<user_id>/access                                          401 403 403 403 403 403 403 403 403 422
POST   /api/v1/users/<user_id>/erasure                                         401 403 403 403 403 403 403 403 403 422
GET    /api/v1/users/<user_id>/personal-data                                   401 200 403 403 403 403 403 403 403 200
# --- api_workflows: workflow definitions: officers, auditors, administrators
GET    /api/v1/workflows                                                       401 403 403 403 403 200 403 403 200 200
GET    /api/v1/workflows/<name>/<version>                                      401 403 403 403 403 200 403 403 200 200
# --- applications: application pages (actions and files on the owner's draft)
GET    /applications/                                                          302 200 200 200 200 200 200 200 200 200
GET    /applications/<application_id>                                          302 200 404 404 404 200 200 200 200 200
POST   /applications/<application_id>                                          302 302 404 404 404 403 403 403 403 403
# a file added or removed by someone not of the organisation: 403 (a flash on the page before)
POST   /applications/<application_id>/attachments                              302 302 404 404 404 403 403 403 403 403
GET    /applications/<application_id>/attachments/<attachment_id>              302 200 404 404 404 200 200 200 200 200
POST   /applications/<application_id>/attachments/<attachment_id>/remove       302 302 404 404 404 403 403 403 403 403
GET    /applications/<application_id>/edit                                     302 200 404 404 404 404 404 404 404 404
POST   /applications/<application_id>/edit                                     302 422 404 404 404 404 404 404 404 404
GET    /applications/<application_id>/receipt/<round_>                         302 200 404 200 404 200 200 200 200 200
# applicants only, as the API (POST /api/v1/applications)
GET    /applications/new                                                       302 200 200 403 403 403 403 403 403 403
POST   /applications/new                                                       302 422 422 403 403 403 403 403 403 403
# --- audit: audit trail pages
GET    /audit/                                                                 302 403 403 403 403 403 403 403 200 200
GET    /audit/export                                                           302 403 403 403 403 403 403 403 200 200
POST   /audit/verify                                                           302 403 403 403 403 403 403 403 302 302
# --- call_dashboard: a call's evaluation dashboard (pages under /calls/ that need a role answer 401, not a redirect)
GET    /calls/<call_id>/evaluation                                             401 403 403 403 403 200 403 403 200 200
# --- call_evaluation: evaluators, assignments and rubric of a call (the closed call; the rubric of a draft call)
# staff pages under /calls/ need a role, not only a session: anonymous people get 401, not the redirect
GET    /calls/<call_id>/assignments                                            401 403 403 403 403 200 403 403 200 200
POST   /calls/<call_id>/assignments/<assignment_id>/reassign                   401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/assignments/<assignment_id>/return                     401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/assignments/auto                                       401 403 403 403 403 302 403 403 403 302
# for the applications ticked on the applications list (none ticked: back to the list, saying so)
POST   /calls/assignments/auto                                                 401 403 403 403 403 302 403 403 403 302
GET    /calls/<call_id>/evaluators                                             401 403 403 403 403 200 403 403 200 200
POST   /calls/<call_id>/evaluators                                             401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/evaluators/<user_id>/remove                            401 403 403 403 403 302 403 403 403 302
GET    /calls/<call_id>/rubric                                                 401 403 403 403 403 200 200 200 200 200
POST   /calls/<call_id>/rubric                                                 401 403 403 403 403 422 403 403 403 422
# --- call_forms: the form editor (of a draft call)
GET    /calls/<call_id>/form                                                   401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/form/action                                            401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/form/json                                              401 403 403 403 403 422 403 403 403 422
GET    /calls/<call_id>/form/preview                                           401 403 403 403 403 200 403 403 403 200
GET    /calls/<call_id>/form/questions/<code>/edit                             401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/form/questions/<code>/edit                             401 403 403 403 403 422 403 403 403 422
GET    /calls/<call_id>/form/sections/<code>/edit                              401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/form/sections/<code>/edit                              401 403 403 403 403 422 403 403 403 422
GET    /calls/<call_id>/form/sections/<code>/questions/new                     401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/form/sections/<code>/questions/new                     401 403 403 403 403 422 403 403 403 422
GET    /calls/<call_id>/form/sections/new                                      401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/form/sections/new                                      401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/form/template                                          401 403 403 403 403 422 403 403 403 422
# --- call_rules: the eligibility rules editor (of a draft call)
GET    /calls/<call_id>/rules                                                  401 403 403 403 403 200 403 403 403 200
GET    /calls/<call_id>/rules/<code>/edit                                      401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/rules/<code>/edit                                      401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/rules/action                                           401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/rules/json                                             401 403 403 403 403 422 403 403 403 422
GET    /calls/<call_id>/rules/new                                              401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/rules/new                                              401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/rules/preview                                          401 403 403 403 403 422 403 403 403 422
# --- calls: call pages
GET    /calls/                                                                 200 200 200 200 200 200 200 200 200 200
GET    /calls/<call_id>                                                        200 200 200 200 200 200 200 200 200 200
GET    /calls/<call_id>/corrigendum                                            401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/corrigendum                                            401 403 403 403 403 422 403 403 403 422
GET    /calls/<call_id>/edit                                                   401 403 403 403 403 200 403 403 403 200
POST   /calls/<call_id>/edit                                                   401 403 403 403 403 422 403 403 403 422
POST   /calls/<call_id>/publish                                                401 403 403 403 403 302 403 403 403 302
GET    /calls/new                                                              401 403 403 403 403 200 403 403 403 200
POST   /calls/new                                                              401 403 403 403 403 422 403 403 403 422
# --- core: health check, language switch
GET    /favicon.ico                                                            200 200 200 200 200 200 200 200 200 200
GET    /healthz                                                                200 200 200 200 200 200 200 200 200 200
GET    /language/<code>                                                        302 302 302 302 302 302 302 302 302 302
# --- dashboard: the landing page of each person
GET    /dashboard/                                                             302 200 200 200 200 200 200 200 200 200
# --- de_minimis: the de minimis register pages
GET    /eligibility/de-minimis/                                                302 403 403 403 403 200 403 200 200 200
POST   /eligibility/de-minimis/                                                302 403 403 403 403 422 403 422 403 422
POST   /eligibility/de-minimis/import                                          302 403 403 403 403 422 403 422 403 422
# --- decisions: the committee's decision page and the ranking
GET    /applications/<application_id>/decision                                 302 403 403 403 403 403 200 403 403 403
POST   /applications/<application_id>/decision                                 302 403 403 403 403 403 422 403 403 403
GET    /calls/<call_id>/ranking                                                302 403 403 403 403 200 200 403 200 200
# --- eligibility: the eligibility queue and an application's checks
GET    /eligibility/                                                           302 403 403 403 403 200 403 403 200 200
GET    /eligibility/applications/<application_id>                              302 200 404 200 404 200 200 200 200 200
POST   /eligibility/applications/<application_id>                              302 403 404 403 404 422 403 403 403 403
# --- evaluations: an evaluator's pages
GET    /evaluations/                                                           302 403 403 200 200 403 403 403 403 403
GET    /evaluations/assignments/<assignment_id>                                302 403 403 200 404 403 403 403 403 403
POST   /evaluations/assignments/<assignment_id>                                302 403 403 409 404 403 403 403 403 403
POST   /evaluations/assignments/<assignment_id>/declaration                    302 403 403 422 404 403 403 403 403 403
GET    /evaluations/relations                                                  302 403 403 200 200 403 403 403 403 403
POST   /evaluations/relations                                                  302 403 403 422 422 403 403 403 403 403
POST   /evaluations/relations/<relation_id>/remove                             302 403 403 302 404 403 403 403 403 403
# --- exports: export pages
GET    /exports/                                                               302 403 403 403 403 200 403 403 200 200
POST   /exports/                                                               302 403 403 403 403 422 403 403 422 422
GET    /exports/<export_id>/download                                           302 403 403 403 403 200 403 403 200 200
POST   /exports/<export_id>/retry                                              302 403 403 403 403 302 403 403 302 302
GET    /exports/programmes/<programme_id>/360giving.json                       302 403 403 403 403 200 403 403 200 200
GET    /exports/programmes/<programme_id>/operations.<export_format>           302 403 403 403 403 200 403 403 200 200
POST   /exports/programmes/<programme_id>/operations/publish                   302 403 403 403 403 302 403 403 403 403
# the applications ticked on the applications list, as CSV: officers and administrators (none ticked: back)
POST   /exports/applications/selected                                          302 403 403 403 403 302 403 403 403 302
# --- grant_reports: grant reports pages (the owner's accepted final report)
GET    /grants/<application_id>/reports/new                                    302 404 404 404 404 403 403 403 403 403
POST   /grants/<application_id>/reports/new                                    302 422 404 404 404 403 403 403 403 403
GET    /grants/reports/<report_id>                                             302 200 404 404 404 200 200 200 200 200
POST   /grants/reports/<report_id>                                             302 409 404 404 404 403 403 403 403 403
# the grantee's members only; the report is accepted, so its own members are told so (302)
POST   /grants/reports/<report_id>/files                                       302 302 404 404 404 403 403 403 403 403
GET    /grants/reports/<report_id>/files/<file_id>                             302 200 404 404 404 200 200 200 200 200
POST   /grants/reports/<report_id>/files/<file_id>/remove                      302 302 404 404 404 403 403 403 403 403
# --- grants_mgmt: grant pages (the owner's stage-gated grant)
GET    /grants/                                                                302 200 200 200 200 200 200 200 200 200
GET    /grants/<application_id>                                                302 200 404 404 404 200 200 200 200 200
POST   /grants/<application_id>                                                302 403 404 404 404 302 403 403 403 403
GET    /grants/<application_id>/agreement                                      302 403 404 404 404 409 403 403 403 403
POST   /grants/<application_id>/agreement                                      302 403 404 404 404 409 403 403 403 403
POST   /grants/<application_id>/agreement/file                                 302 403 404 404 404 302 403 403 403 403
GET    /grants/<application_id>/agreement/print                                302 200 404 404 404 200 200 200 200 200
GET    /grants/<application_id>/files/<file_id>                                302 200 404 404 404 200 200 200 200 200
POST   /grants/<application_id>/gate-decision                                  302 403 404 404 404 403 422 403 403 403
POST   /grants/<application_id>/irregularities                                 302 403 404 404 404 422 403 403 403 403
POST   /grants/<application_id>/payments                                       302 403 404 404 404 422 403 403 403 403
GET    /grants/payments                                                        302 403 403 403 403 200 200 200 200 200
POST   /grants/payments/<payment_id>/act                                       302 403 404 404 404 302 403 302 403 403
# --- home: the public home page
GET    /                                                                       200 200 200 200 200 200 200 200 200 200
# --- indicators: a programme's indicators
GET    /programmes/<programme_id>/indicators                                   302 403 403 403 403 200 200 200 200 200
POST   /programmes/<programme_id>/indicators                                   302 403 403 403 403 302 403 403 403 302
# --- initiatives: initiative pages
GET    /initiatives/                                                           302 200 200 200 200 200 200 200 200 200
GET    /initiatives/<initiative_id>                                            302 200 404 404 404 200 200 200 200 200
POST   /initiatives/<initiative_id>                                            302 403 404 404 404 409 403 403 403 403
GET    /initiatives/<initiative_id>/edit                                       302 200 404 404 404 404 404 404 404 404
POST   /initiatives/<initiative_id>/edit                                       302 422 404 404 404 404 404 404 404 404
# applicants only, as the API (POST /api/v1/initiatives)
GET    /initiatives/new                                                        302 200 200 403 403 403 403 403 403 403
POST   /initiatives/new                                                        302 422 422 403 403 403 403 403 403 403
# --- irregularities: the irregularities register (a suspected one is not shown to the grantee)
GET    /grants/irregularities/                                                 302 403 403 403 403 200 200 200 200 200
GET    /grants/irregularities/<irregularity_id>                                302 404 404 404 404 200 200 200 200 200
POST   /grants/irregularities/<irregularity_id>                                302 404 404 404 404 302 403 403 403 403
# --- notices: a person's notifications (the owner's)
GET    /notifications/                                                         302 200 200 200 200 200 200 200 200 200
POST   /notifications/read                                                     302 302 302 302 302 302 302 302 302 302
GET    /notifications/<notice_id>                                              302 200 404 404 404 404 404 404 404 404
# --- organisations: organisation pages
GET    /organisations/                                                         302 200 200 200 200 200 200 200 200 200
GET    /organisations/<organisation_id>/edit                                   302 200 404 404 404 404 404 404 404 404
POST   /organisations/<organisation_id>/edit                                   302 302 404 404 404 404 404 404 404 404
POST   /organisations/<organisation_id>/invite                                 302 302 404 404 404 404 404 404 404 404
GET    /organisations/invitations/<token>                                      302 200 200 200 200 200 200 200 200 200
# anyone signed in may accept an invitation, which the service checks was sent to their address
POST   /organisations/invitations/<token>                                      302 422 422 422 422 422 422 422 422 422
# applicants only, as the API: creating an organisation makes its creator an applicant
GET    /organisations/new                                                      302 200 200 403 403 403 403 403 403 403
POST   /organisations/new                                                      302 422 422 403 403 403 403 403 403 403
# --- outbox: the outbox page
GET    /admin/outbox/                                                          302 403 403 403 403 200 403 403 403 200
# --- privacy: a person's data, the people list and erasure
POST   /admin/people/<user_id>/access                                          302 403 403 403 403 403 403 403 403 422
GET    /account/personal-data.json                                             302 200 200 200 200 200 200 200 200 200
GET    /admin/people/                                                          302 403 403 403 403 403 403 403 403 200
GET    /admin/people/<user_id>                                                 302 403 403 403 403 403 403 403 403 200
POST   /admin/people/<user_id>/erasure                                         302 403 403 403 403 403 403 403 403 422
GET    /admin/people/<user_id>/personal-data.json                              302 403 403 403 403 403 403 403 403 200
POST   /admin/people/<user_id>/two-step/reset                                  302 403 403 403 403 403 403 403 403 422
# --- programmes: programme pages and dashboards
GET    /programmes/                                                            302 403 403 403 403 200 200 200 200 200
GET    /programmes/<programme_id>                                              302 403 403 403 403 200 200 200 200 200
GET    /programmes/<programme_id>/edit                                         302 403 403 403 403 200 403 403 403 200
POST   /programmes/<programme_id>/edit                                         302 403 403 403 403 422 403 403 403 422
GET    /programmes/new                                                         302 403 403 403 403 200 403 403 403 200
POST   /programmes/new                                                         302 403 403 403 403 422 403 403 403 422
# --- registry: the public SI registry pages
GET    /registry/                                                              200 200 200 200 200 200 200 200 200 200
GET    /registry/data                                                          200 200 200 200 200 200 200 200 200 200
GET    /registry/export.csv                                                    200 200 200 200 200 200 200 200 200 200
GET    /registry/export.json                                                   200 200 200 200 200 200 200 200 200 200
GET    /registry/initiatives/<initiative_id>                                   200 200 200 200 200 200 200 200 200 200
GET    /registry/overview/                                                     302 302 302 302 302 302 302 302 302 302
GET    /registry/overview/<year>                                               200 200 200 200 200 200 200 200 200 200
# --- reports: funder report pages
GET    /reports/                                                               302 403 403 403 403 200 403 403 200 200
GET    /reports/calls/<call_id>                                                302 403 403 403 403 200 403 403 200 200
GET    /reports/programmes/<programme_id>                                      302 403 403 403 403 200 403 403 200 200
# --- static: static files
GET    /static/<filename>                                                      200 200 200 200 200 200 200 200 200 200
# --- users: sign-in, registration, one's account and two-step sign-in
GET    /account                                                                302 200 200 200 200 200 200 200 200 200
POST   /account/two-step/disable                                               302 302 302 302 302 302 302 302 302 302
POST   /account/two-step/recovery-codes                                        302 302 302 302 302 302 302 302 302 302
GET    /account/two-step/setup                                                 302 200 200 200 200 200 200 200 200 200
POST   /account/two-step/setup                                                 302 422 422 422 422 422 422 422 422 422
GET    /login                                                                  200 302 302 302 302 302 302 302 302 302
POST   /login                                                                  422 302 302 302 302 302 302 302 302 302
GET    /login/second-step                                                      302 302 302 302 302 302 302 302 302 302
POST   /login/second-step                                                      302 302 302 302 302 302 302 302 302 302
POST   /logout                                                                 302 302 302 302 302 302 302 302 302 302
GET    /register                                                               200 302 302 302 302 302 302 302 302 302
POST   /register                                                               422 302 302 302 302 302 302 302 302 302
# --- workflows: workflow diagrams
GET    /admin/workflows/                                                       302 403 403 403 403 200 403 403 200 200
GET    /admin/workflows/<name>/<version>                                       302 403 403 403 403 200 403 403 200 200
"""


def _plain(rule: str) -> str:
    """The rule as the table writes it: ``/grants/<application_id>`` for ``/grants/<int:application_id>``."""
    return re.sub(r"<\w+:(\w+)>", r"<\1>", rule)


def _parse(table: str) -> dict[tuple[str, str], tuple[int, ...]]:
    rows: dict[tuple[str, str], tuple[int, ...]] = {}
    for line in table.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        method, rule, *codes = line.split()
        assert len(codes) == len(ROLES), f"{method} {rule}: {len(codes)} codes for {len(ROLES)} roles"
        assert (method, rule) not in rows, f"{method} {rule}: two rows"
        rows[(method, rule)] = tuple(int(code) for code in codes)
    return rows


EXPECTED = _parse(TABLE)


def _routes() -> list[tuple[str, str, str]]:
    """(method, rule, endpoint) of every route the app serves, by blueprint."""
    app = create_app("testing", DATABASE_URL="sqlite://")
    return sorted(((method, rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}),
                  key=lambda route: (route[2].split(".")[0], route[1], route[0]))


ROUTES = _routes()

# --- the URLs and bodies ------------------------------------------------------------------------------------

#: The world's object each URL variable names (tests/world.py), unless the endpoint says otherwise below.
PARAMETERS = {
    "application_id": "grant", "call_id": "open_call", "assignment_id": "assignment", "attachment_id": "attachment",
    "export_id": "export", "file_id": "grant_file", "initiative_id": "initiative", "irregularity_id": "irregularity",
    "order_id": "recovery_order", "organisation_id": "organisation", "payment_id": "payment",
    "programme_id": "programme", "relation_id": "relation", "report_id": "report", "verification_id": "verification",
    "user_id": "owner", "rule_code": "rule_code", "notice_id": "notice",
}
#: Other values of URL variables that are not ids.
VALUES = {"name": "application", "version": "4", "year": str(date.today().year), "code": "about",
          "token": "no-such-invitation", "round_": "1", "export_format": "csv", "filename": "css/grants.css"}
#: Endpoints whose route needs another object than the usual one (a draft to edit, a call still a draft…).
OVERRIDES = {
    **{endpoint: {"application_id": "draft"} for endpoint in (
        "api_applications.update", "api_applications.upload_attachment", "api_applications.delete_attachment",
        "api_applications.download_attachment", "api_applications.fire_", "applications.detail",
        "applications.edit", "applications.upload_attachment", "applications.download_attachment",
        "applications.remove_attachment_")},
    **{endpoint: {"application_id": "evaluated"} for endpoint in ("api_decisions.decide_", "decisions.decision")},
    "api_eligibility.decide_": {"application_id": "eligibility_review"},
    **{endpoint: {"call_id": "draft_call"} for endpoint in (
        "api_calls.update", "api_calls.publish", "api_evaluation_admin.replace_rubric", "api_rulesets.replace_rules",
        "calls.edit", "calls.publish", "call_evaluation.rubric", "call_evaluation.save_rubric",
        "call_forms.editor", "call_forms.action", "call_forms.replace_json", "call_forms.preview",
        "call_forms.edit_question", "call_forms.edit_section", "call_forms.new_question", "call_forms.new_section",
        "call_forms.add_template", "call_rules.editor", "call_rules.edit_rule", "call_rules.action",
        "call_rules.replace_json", "call_rules.new_rule", "call_rules.preview")},
    **{endpoint: {"call_id": "closed_call", "user_id": "other_evaluator"} for endpoint in (
        "api_evaluation_admin.list_assignments", "api_evaluation_admin.auto_assign",
        "api_evaluation_admin.evaluation", "api_evaluation_admin.list_pool", "api_evaluation_admin.add_to_pool",
        "api_evaluation_admin.remove_from_pool", "api_decisions.ranking_", "api_decisions.ranking_envelopes",
        "call_evaluation.assignments",
        "call_evaluation.reassign", "call_evaluation.return_review", "call_evaluation.auto_assign",
        "call_evaluation.evaluators", "call_evaluation.add_evaluator", "call_evaluation.remove_evaluator",
        "call_dashboard.evaluation", "decisions.ranking_page", "reports.call", "api_reports.call_report")},
    **{endpoint: {"file_id": "report_file"} for endpoint in ("grant_reports.download", "grant_reports.remove")},
    "api_evaluations.declare_": {"assignment_id": "gate_assignment"},
}
#: The question of the draft call's form that the question editor's routes name (``code`` else names its section).
QUESTION_ENDPOINTS = ("call_forms.edit_question",)
#: Query strings some routes need to do anything.
QUERIES = {
    "applications.new": "call_id={open_call}",
    "api_exports.operations": "programme_id={programme}&format=csv",
    "api_exports.threesixtygiving": "programme_id={programme}",
    "api_de_minimis.headroom_": "registration_number=40008000001",
}
_PDF = "file"
#: Bodies that pass validation, so that the answer is authorisation's (an unsafe method sends ``{}`` else).
BODIES = {
    "api_applications.update": {"version": 1, "title": "Jauns nosaukums"},
    "api_applications.fire_": {"trigger": "withdraw"},
    "api_applications.upload_attachment": _PDF,
    "api_evaluations.declare_": {"has_conflict": False, "statement": ""},
    "api_evaluations.put_review": {"summary": "Kopsavilkums."},
    "api_grants.create_report": {"kind": "progress", "period_end": "2025-04-30", "narrative": "Paveiktais.",
                                 "indicators": {}, "expenditure": []},
    "api_grants.update_report": {"version": 1, "narrative": "Paveiktais."},
    "api_grants.upload_report_file": _PDF,
    "api_grants.fire_report": {"trigger": "submit"},
    "api_grants.fire_irregularity": {"trigger": "confirm", "comment": "Apstiprināts."},
    "api_grants.fire_payment": {"trigger": "request"},
    "api_grants.upload_agreement": _PDF,
    "api_initiatives.update": {"version": 1, "title": "Iniciatīva"},
    "api_initiatives.fire_": {"trigger": "advance"},
    "api_organisations.invite": {"email": "jauns.biedrs@example.lv"},
    "applications.detail": {"trigger": "withdraw"},
    "applications.upload_attachment": _PDF,
    "grant_reports.upload": _PDF,
    "grants_mgmt.grant": {"trigger": "terminate", "comment": "Pārtraukts."},
    "grants_mgmt.upload_signed_file": _PDF,
    "initiatives.detail": {"trigger": "advance"},
    "irregularities.detail": {"trigger": "confirm", "comment": "Apstiprināts."},
}


def _url(method: str, rule: str, endpoint: str, world) -> str:
    names = {**PARAMETERS, **OVERRIDES.get(endpoint, {})}

    def value(match) -> str:
        name = match.group(1)
        if name == "code" and endpoint in QUESTION_ENDPOINTS:
            return "project_name"
        if name == "code" and endpoint.startswith("call_rules."):
            return world.ids["rule_code"]
        if name in VALUES:
            return VALUES[name]
        return str(world.ids[names[name]])

    url = re.sub(r"<(?:\w+:)?(\w+)>", value, rule)
    query = QUERIES.get(endpoint)
    return f"{url}?{query.format(**world.ids)}" if query else url


def _send(client: FlaskClient, url: str, method: str, headers: dict, kwargs: dict) -> int:
    response = client.open(url, method=method, headers=headers, **kwargs)
    response.get_data()  # a streamed body is read here, in the request's contexts, before the rollback
    response.close()
    return response.status_code


def _status(app, world, role: str, method: str, url: str, endpoint: str) -> int:
    # Not the suite's IsolatedClient: the request and the reading of its body share one fresh context.
    client = FlaskClient(app)
    headers = {"Accept-Language": "en"}
    kwargs: dict = {}
    body = BODIES.get(endpoint, {})
    if url.startswith("/api/"):
        if role != "anonymous":
            headers.update(world.tokens[role])
        if method != "GET":
            if body == _PDF:
                kwargs.update(data={"file": (io.BytesIO(pdf_bytes()), "dokuments.pdf")},
                              content_type="multipart/form-data")
            else:
                kwargs["json"] = body
    else:
        cookie, token = world.sessions[role]
        client.set_cookie("session", cookie, domain="localhost")
        if method != "GET":
            data = {"csrf_token": token}
            if body == _PDF:
                data["file"] = (io.BytesIO(pdf_bytes()), "dokuments.pdf")
            else:
                data.update(body)
            kwargs["data"] = data
    savepoint = world.connection.begin_nested()
    limiter.reset()
    try:
        return contextvars.Context().run(_send, client, url, method, headers, kwargs)
    finally:
        savepoint.rollback()


# --- the world, once for the module -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def _isolated():
    """Instead of the suite's transaction per test: one world for the module (below)."""
    yield


@pytest.fixture(scope="module")
def world(app):
    """The seeded world in a transaction of the module, rolled back at its end; each person signed in to
    the pages (a session cookie and its CSRF token) and holding an API token."""
    with app.test_request_context("/"):
        connection = db.engine.connect()
        transaction = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            world = build_world()
            world.tokens = {role: bearer(user) for role, user in world.people.items()}
            world.ids.update({role: user.id for role, user in world.people.items()})
            db.session.commit()
            world.sessions = {}
            limiter.reset()  # the sign-ins of the module before count otherwise (ten a minute from one address)
            for role, user in [("anonymous", None), *world.people.items()]:
                client = app.test_client()
                if user is not None:
                    login(client, user, password=app.config["DEMO_PASSWORD"])
                page = client.get("/account" if user else "/login").get_data(as_text=True)
                world.sessions[role] = (client.get_cookie("session").value, csrf_token_from(page))
            world.connection = connection
            db.session.commit()
            db.session.remove()
            yield world
        finally:
            db.session.remove()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            transaction.rollback()
            connection.close()


# --- the tests ------------------------------------------------------------------------------------------------

def _row(codes) -> str:
    return " ".join(f"{code:>3}" for code in codes)


@pytest.mark.parametrize(("method", "rule", "endpoint"), ROUTES, ids=[f"{m} {r}" for m, r, _e in ROUTES])
def test_route_answers_each_role_as_the_table_says(app, world, method, rule, endpoint):
    url = _url(method, rule, endpoint, world)
    answered = tuple(_status(app, world, role, method, url, endpoint) for role in ROLES)
    expected = EXPECTED.get((method, _plain(rule)))
    assert expected is not None, (
        f"No row for {method} {rule} ({endpoint}) in {__name__}.TABLE: decide who may use it and add the row. "
        f"It answered ({' '.join(COLUMNS)}):\n{method:<6} {_plain(rule):<70}  {_row(answered)}")
    wrong = [f"{column}: {got} (expected {want})" for column, got, want in zip(COLUMNS, answered, expected,
                                                                                strict=True) if got != want]
    assert not wrong, f"{method} {url} ({endpoint}): " + "; ".join(wrong)


def test_every_row_names_a_route():
    served = {(method, _plain(rule)) for method, rule, _endpoint in ROUTES}
    assert sorted(set(EXPECTED) - served) == [], "rows for routes that are no longer served"
