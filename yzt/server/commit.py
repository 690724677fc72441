"""Group commit: no answer is sent before its request's writes are committed.

Every request handled in the same turn of the event loop shares one SQLite commit, so a burst of
queries costs one commit, not one each.
"""

from __future__ import annotations

import asyncio

from yzt.server.store import Store


class GroupCommit:
    """Waits for the store's open transaction to be committed, sharing one commit per loop turn."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._future: asyncio.Future[None] | None = None

    async def committed(self) -> None:
        """Return once this request's writes (if any) are committed."""
        if not self.store.db.in_transaction:
            return
        if self._future is None:
            loop = asyncio.get_running_loop()
            self._future = loop.create_future()
            loop.call_soon(self._commit_now)
        await asyncio.shield(self._future)

    def _commit_now(self) -> None:
        future, self._future = self._future, None
        try:
            self.store.commit()
        except Exception as exc:  # pragma: no cover - a full disk, say
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(None)
