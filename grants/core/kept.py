"""Answers a process keeps while what they were computed from has not changed.

Some answers aggregate a large part of the database (a call's whole ranking, the public registry's facets, a
programme's funder report): hundreds of milliseconds to seconds at 100,000 applications, for an answer that
changes only when something is written. The domain that computes such an answer also knows what it depends on,
and says so as a *fingerprint*: a value read in one cheap statement on every request (the audit chain's head,
the newest ids and versions of the tables involved...) that changes whenever the answer might. A kept answer is
handed out only while the fingerprint read now equals the one it was computed under, so nothing stale is shown;
a new fingerprint computes the answer again and replaces it.

Answers are kept per database (its URL and engine: the test suite and the benchmarks open several), at most
``max_entries`` of them per :class:`Kept`, the least recently used going first. The caller decides how an answer
is handed out (``share``): a deep copy by default, so nobody changes the kept object; answers made of immutable
rows can be shared as they are.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from grants.core.db import db

T = TypeVar("T")
_MISSING = object()


def database_key() -> tuple[str, int]:
    """The database the session talks to: its URL and the engine's identity."""
    bind = db.session.get_bind()
    engine = getattr(bind, "engine", bind)
    return str(engine.url), id(engine)


class Kept:
    """A process's kept answers of one kind (thread-safe; see the module's docstring)."""

    def __init__(self, max_entries: int, share: Callable[[Any], Any] = copy.deepcopy):
        self.max_entries = max_entries
        self._share = share
        self._lock = threading.Lock()
        #: (database, key) -> (fingerprint, answer), least recently used first.
        self._answers: OrderedDict[tuple, tuple[Hashable, Any]] = OrderedDict()

    def get(self, key: Hashable, fingerprint: Hashable | None, compute: Callable[[], T]) -> T:
        """The answer kept under ``key`` if it was computed under ``fingerprint``, else ``compute()`` (kept for
        the next read). A ``fingerprint`` of None keeps nothing: the answer is computed every time."""
        if fingerprint is None:
            return compute()
        slot = (database_key(), key)
        with self._lock:
            found = self._answers.get(slot)
            if found is not None and found[0] == fingerprint:
                self._answers.move_to_end(slot)
                answer = found[1]
            else:
                answer = _MISSING
        if answer is not _MISSING:
            return self._share(answer)
        answer = compute()
        with self._lock:
            self._answers[slot] = (fingerprint, self._share(answer))
            self._answers.move_to_end(slot)
            while len(self._answers) > self.max_entries:
                self._answers.popitem(last=False)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)
