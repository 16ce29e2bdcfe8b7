"""What every API blueprint shares: authentication and role checks (paging is grants.core.paging)."""

from __future__ import annotations

from grants.core.security import roles_required

BEARER = [{"bearerAuth": []}]


#: Endpoint decorator: the bearer of a valid token, holding one of the roles when given (401, then 403).
authenticated = roles_required
