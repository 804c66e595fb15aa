"""What a result read from a workspace depends on: the keys of the app's shared caches.

One Streamlit server serves every session, and its caches (``st.cache_data``,
``st.cache_resource``, in :mod:`territory.ui.loaders`) are shared by all of them: a
result computed for one session is handed to any other that asks with the same key. So
the key says everything the result depends on, and nothing more (issue #24's load budget:
twenty sessions browsing and editing at once):

* **the workspace** (:attr:`~territory.store.Workspace.key`);
* **its data version** (:attr:`~territory.store.Workspace.data_version`): bumped by every
  write except an edit of a week's plan, so that a lead saving a visit every few seconds
  does not make every session rebuild its maps, protected figures and indicators. What a
  week shows is keyed on the week and its own version number as well: a saved
  version is never rewritten, and anything that could change one (an undo, a purge) is a
  write outside the plans, which bumps the data version too;
* **the reader's scope** (:func:`scope_of`): on a server, row-level security lets each
  user read only the rows of their territories, so a result read in one user's session
  may hold rows another user must not see. Sessions share a result only when their scopes
  are equal: ``("*",)`` (every territory: the laptop app, an unscoped grant), or the
  sorted names of the granted territories.

What must be read fresh is never part of a cached value: the latest version of a week
(:func:`territory.rounds.week.latest_version`, read at every rerun) and the check of an
edit's base version, which the store makes in the transaction that writes
(:func:`territory.rounds.week.save_edited`).
"""

from __future__ import annotations

import threading
import weakref
from typing import NamedTuple

from territory.access.permissions import Access
from territory.store import Workspace

__all__ = ["EVERYTHING", "DataKey", "data_key", "scope_of"]

EVERYTHING = ("*",)
"""The scope of a reader who sees every territory (the laptop app, an unscoped grant)."""


class DataKey(NamedTuple):
    """The key of a cached read of a workspace's data (everything but the weeks' plans)."""

    workspace: str
    """:attr:`Workspace.key <territory.store.Workspace.key>`: also what the loader opens."""
    data: int
    """:attr:`Workspace.data_version <territory.store.Workspace.data_version>`."""
    scope: tuple[str, ...]
    """:func:`scope_of` the reader."""


def scope_of(access: Access | None, workspace: str) -> tuple[str, ...]:
    """The territories of ``workspace`` a reader's rows come from, as a cache key.

    ``access`` None is the laptop app (no accounts): :data:`EVERYTHING`, as for a grant
    without a territory. A user scoped to territories gets their sorted names; a user with
    no grant on the workspace gets ``()`` (the app does not open it for them).

    >>> from territory.access.identity import Role
    >>> from territory.access.permissions import Grant
    >>> scope_of(Access("a@x.fr", (Grant(Role.COMITE, "nord", "Sambre"),)), "nord")
    ('Sambre',)
    >>> scope_of(None, "nord")
    ('*',)
    """
    if access is None:
        return EVERYTHING
    if not access.may_open(workspace):
        return ()
    names = access.territories(workspace)
    return EVERYTHING if names is None else names


_SEEN: weakref.WeakKeyDictionary[Workspace, tuple[int, int]] = weakref.WeakKeyDictionary()
_SEEN_LOCK = threading.Lock()  # every session's thread asks


def data_key(ws: Workspace, access: Access | None) -> DataKey:
    """The key of what is read from ``ws`` by this reader, at its data version.

    The data version is read from the store once per workspace object, and again after
    each write made through that object (:attr:`~territory.store.Workspace.writes_here`):
    a page run opens the workspace once and asks for this key a dozen times, each time
    a query; a write made by this run (a feedback recorded, teams saved) is seen by the
    rest of the run, another session's at this session's next run.
    """
    with _SEEN_LOCK:
        seen = _SEEN.get(ws)
    if seen is None or seen[0] != ws.writes_here:
        seen = ws.writes_here, ws.data_version
        with _SEEN_LOCK:
            _SEEN[ws] = seen
    return DataKey(ws.key, seen[1], scope_of(access, ws.path.stem))
