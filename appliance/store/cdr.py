"""The PBX's call records linked to our calls (appliance/asterisk/cdr.py reads them).

A row is kept only for a call we hold, and goes with it (ON DELETE CASCADE): retention and
erasure need no extra step. Linking a row again changes nothing (a CDR row is final once
written; a scan sees some rows twice).
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

from appliance.store import scopes
from appliance.store.concern import Concern, clock
from appliance.store.db import write
from appliance.store.records import CallRecord

_FIELDS = [f.name for f in dataclasses.fields(CallRecord)]


class CallRecords(Concern):
    def link(self, source: str, records: Sequence[CallRecord], mark: str | None = None,
             now: float | None = None) -> int:
        """Attach each record to the calls whose uniqueid is its uniqueid or whose linkedid is its
        linkedid, and keep `mark` (how far the source was read) in the same transaction; the
        number of new (call, record) links. One lookup for all the records: most rows of a
        PBX's CDR are of calls never recorded here."""
        db, now = self._db, clock(now)
        keys = json.dumps(sorted({r.uniqueid for r in records} | {r.linkedid or r.uniqueid for r in records}))
        by_uniqueid, by_linkedid = {}, defaultdict(set)
        for call_id, uniqueid, linkedid in db.execute(
                """SELECT id, uniqueid, linkedid FROM calls WHERE uniqueid IN (SELECT value FROM json_each(:keys))
                OR (linkedid IS NOT NULL AND linkedid IN (SELECT value FROM json_each(:keys)))""", {"keys": keys}):
            by_uniqueid[uniqueid] = call_id
            by_linkedid[linkedid].add(call_id)
        links = [(call_id, source, record.uniqueid, record.sequence, json.dumps(vars(record)), now)
                 for record in records
                 for call_id in {by_uniqueid.get(record.uniqueid), *by_linkedid.get(record.linkedid or record.uniqueid, ())}
                 if call_id is not None]
        with write(db):
            before = db.conn.total_changes
            db.conn.executemany(
                """INSERT INTO call_records (call_id, source, uniqueid, sequence, data, linked_at)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_id, source, uniqueid, sequence) DO NOTHING""", links)
            linked = db.conn.total_changes - before
            if mark is not None:
                db.execute("""INSERT INTO cdr_marks (source, mark, updated_at) VALUES (?, ?, ?)
                           ON CONFLICT (source) DO UPDATE SET mark = excluded.mark, updated_at = excluded.updated_at""",
                           [source, mark, now])
        return linked

    def join_conversations(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Keep that each (linkedid, other linkedid) pair is one conversation (an attended
        transfer: the call and its consultation), where a call of ours carries either. The other
        joins the first one's conversation, so a chain of transfers stays one."""
        db = self._db
        with write(db):
            for first, other in pairs:
                if not db.execute("SELECT 1 FROM calls WHERE linkedid IN (?, ?) LIMIT 1", [first, other]).fetchone():
                    continue  # no call of ours: nothing is kept about it
                root = db.execute("SELECT coalesce((SELECT joined_to FROM conversation_links WHERE linkedid = ?), ?)",
                                  [first, first]).fetchone()[0]
                if other != root:
                    db.execute("INSERT INTO conversation_links (linkedid, joined_to) VALUES (?, ?)"
                               " ON CONFLICT (linkedid) DO NOTHING", [other, root])

    def mark(self, source: str) -> str | None:
        """The mark link() last kept for the source (None: never read)."""
        row = self._db.execute("SELECT mark FROM cdr_marks WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

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
