"""The PBX's call records linked to our calls (appliance/asterisk/cdr.py reads them).

A row is kept only for a call we hold, and goes with it (ON DELETE CASCADE): retention and
erasure need no extra step. Linking again replaces a row (a CDR row is final once written, but
a scan may see one twice).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence

from appliance.store import scopes
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.records import CallRecord

_FIELDS = [f.name for f in dataclasses.fields(CallRecord)]


class CallRecords(Concern):
    def link(self, source: str, records: Sequence[CallRecord], now: float | None = None) -> int:
        """Attach each record to the calls whose uniqueid is its uniqueid or whose linkedid is its
        linkedid; the number of (call, record) links made or renewed."""
        db, now, linked = self._db, clock(now), 0
        with write(db):
            for record in records:
                calls = db.execute(
                    "SELECT id FROM calls WHERE uniqueid = ? OR (linkedid IS NOT NULL AND linkedid = ?)",
                    [record.uniqueid, record.linkedid or record.uniqueid],
                ).fetchall()
                for (call_id,) in calls:
                    db.execute(
                        """INSERT INTO call_records (call_id, source, uniqueid, sequence, data, linked_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (call_id, source, uniqueid, sequence) DO UPDATE SET data = excluded.data""",
                        [call_id, source, record.uniqueid, record.sequence, json.dumps(dataclasses.asdict(record)),
                         now],
                    )
                    linked += 1
        return linked

    def of_call(self, call_id: int) -> list[CallRecord]:
        """The call's records in the order the PBX wrote them (start, then sequence)."""
        self._require_visible(call_id)
        return self._records_of([call_id])[call_id]

    def of_calls(self, call_ids: Iterable[int]) -> dict[int, list[CallRecord]]:
        """of_call of many calls at once (a range export), those out of scope left out."""
        return self._records_of(scopes.visible_ids(self._db, self.scope, list(call_ids)))

    def _records_of(self, call_ids: list[int]) -> dict[int, list[CallRecord]]:
        found: dict[int, list[CallRecord]] = {call_id: [] for call_id in call_ids}
        rows = self._db.execute(
            "SELECT call_id, data FROM call_records WHERE call_id IN (SELECT value FROM json_each(?))",
            [json.dumps(call_ids)]).fetchall()
        for call_id, data in rows:
            found[call_id].append(CallRecord(**{k: v for k, v in json.loads(data).items() if k in _FIELDS}))
        return {call_id: sorted(records, key=lambda r: (r.started_at or "", r.sequence))
                for call_id, records in found.items()}
