"""Login attempts, counted per key ("pair:alice|10.0.0.5", "ip:10.0.0.5", "user:alice") so the
web can slow guessing. An attempt is counted before its password is checked, in the same
transaction that looks at the counts, so parallel guesses cannot all pass one look."""

from __future__ import annotations

from appliance.store.concern import Concern, clock
from appliance.store.db import write

# Attempts older than this are forgotten when a new one is counted; no throttle looks further
# back, and the table cannot grow without bound under a guessing attack.
KEEP_SECONDS = 24 * 3600.0


class LoginAttempts(Concern):
    def begin(self, limits: dict[str, int | None], since: float,
              now: float | None = None) -> tuple[list[int], dict[str, int]] | None:
        """Count one attempt under every key of `limits` unless a key already has its limit (None:
        no limit) of attempts since `since`; then None and nothing is counted. Else the rows written
        (give them to `forgive` when the password was right) and each key's count before this one."""
        db, now = self._db, clock(now)
        with write(db):
            db.execute("DELETE FROM login_failures WHERE at < ?", [now - KEEP_SECONDS])
            counts = {key: self.failures_since(key, since) for key in limits}
            if any(limit is not None and counts[key] >= limit for key, limit in limits.items()):
                return None
            rows = [
                db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", [key, now]).lastrowid
                for key in limits
            ]
            return rows, counts

    def forgive(self, rows: list[int], key: str | None = None) -> None:
        """Uncount a successful attempt's rows, and every attempt under `key` (its own account from
        its own address): the other keys keep what others did."""
        with write(self._db):
            self._db.execute(f"DELETE FROM login_failures WHERE rowid IN ({','.join('?' * len(rows))})", rows)
            if key is not None:
                self._db.execute("DELETE FROM login_failures WHERE key = ?", [key])

    def failures_since(self, key: str, since: float) -> int:
        return self._db.execute(
            "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", [key, since]
        ).fetchone()[0]
