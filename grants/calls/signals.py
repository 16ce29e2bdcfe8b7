"""What happens to a call that domains above calls act on (blinker signals, as Flask's own)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A published call was corrected: ``sender`` is the call, ``version`` the new
#: :class:`~grants.calls.models.CallVersion`. Sent inside the corrigendum's transaction, so
#: what receivers write (the applicants' e-mail) commits with it or not at all.
call_corrected = _signals.signal("call-corrected")
