"""Transcripts in and out: speakers, turns with their words, and the turns' full-text rows.

The turns' rows in both full-text indexes go through appliance.store.fts; a trigger of the schema
records each call's range of turn ids (calls.first_turn, last_turn) for search's date filter.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from appliance.errors import BadInput, NotFound
from appliance.store import contacts, fts, scopes
from appliance.store.concern import Concern
from appliance.store.db import first, read, write
from appliance.store.names import visible
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn


def insert_transcript(db: Database, recording_id: int, transcript: Transcript, now: float) -> None:
    """Store a transcript; the caller holds the write transaction."""
    transcript_id = (
        db["transcripts"]
        .insert(
            {
                "recording_id": recording_id,
                "language": transcript.language,
                "engine": transcript.engine,
                "model": transcript.model,
                "duration": transcript.duration,
                "created_at": now,
            }
        )
        .last_pk
    )
    db["speakers"].insert_all(
        {"transcript_id": transcript_id, "idx": s.index, "label": s.label, "role": s.role}
        for s in transcript.speakers
    )
    db["turns"].insert_all(
        {
            "transcript_id": transcript_id,
            "idx": idx,
            "speaker": turn.speaker,
            "start_time": turn.start,
            "end_time": turn.end,
            "text": turn.text,
            # json keeps floats exact (repr round-trips), so probabilities come back equal.
            "words": json.dumps([[w.start, w.end, w.word, w.probability] for w in turn.words]),
        }
        for idx, turn in enumerate(transcript.turns)
    )
    call = first(
        db.query(
            "SELECT c.caller, c.callee FROM recordings r JOIN calls c ON c.id = r.call_id"
            " WHERE r.id = ?",
            [recording_id],
        )
    )
    turn_ids = [
        row["id"]
        for row in db.query(
            "SELECT id FROM turns WHERE transcript_id = ? ORDER BY idx", [transcript_id]
        )
    ]
    fts.insert(
        db,
        [
            (turn_id, turn.text, speaker.label, call["caller"], call["callee"], speaker.role)
            for turn_id, turn in zip(turn_ids, transcript.turns)
            for speaker in (transcript.speaker(turn.speaker),)
        ],
    )
    contacts.apply_to_transcript(db, transcript_id)  # the address book names the parties


class Transcripts(Concern):
    def get(self, call_id: int) -> Transcript | None:
        """The call's newest transcript, with its meta taken from the call row; None for a call
        without a transcript, a missing one and one out of scope alike."""
        if not scopes.visible(self._db, self.scope, call_id):
            return None
        with read(self._db):
            head = first(
                self._db.query(
                    "SELECT t.id, t.language, t.engine, t.model, t.duration, c.uniqueid, c.caller,"
                    " c.callee, c.direction, c.started_at, c.linkedid, c.kind"
                    " FROM transcripts t JOIN recordings r ON r.id = t.recording_id"
                    " JOIN calls c ON c.id = r.call_id WHERE c.id = ? ORDER BY t.id DESC LIMIT 1",
                    [call_id],
                )
            )
            if head is None:
                return None
            speakers = tuple(
                Speaker(index=s["idx"], label=s["label"], role=s["role"])
                for s in self._db.query(
                    "SELECT idx, label, role FROM speakers WHERE transcript_id = ? ORDER BY idx",
                    [head["id"]],
                )
            )
            turns = tuple(
                Turn.from_dict({**t, "words": json.loads(t["words"])})
                for t in self._db.query(
                    "SELECT speaker, start_time AS start, end_time AS \"end\", text, words FROM turns"
                    " WHERE transcript_id = ? ORDER BY idx",
                    [head["id"]],
                )
            )
        return Transcript(
            language=head["language"],
            engine=head["engine"],
            model=head["model"],
            duration=head["duration"],
            speakers=speakers,
            turns=turns,
            meta=call_meta(head),
        )

    def rename_speaker(self, call_id: int, index: int, label: str) -> None:
        """Relabel a speaker of the call's newest transcript, in the transcript and in search."""
        self._require_edit(call_id)
        label = visible(label)
        if not label:
            raise BadInput("a speaker's name needs at least one visible character")
        with write(self._db):
            head = first(
                self._db.query(
                    "SELECT max(t.id) AS id FROM transcripts t"
                    " JOIN recordings r ON r.id = t.recording_id WHERE r.call_id = ?",
                    [call_id],
                )
            )
            renamed = self._db.execute(
                "UPDATE speakers SET label = ? WHERE transcript_id = ? AND idx = ?",
                [label, head["id"], index],
            ).rowcount
            if not renamed:
                raise NotFound(f"call {call_id} has no transcript with a speaker {index}")
            fts.update(
                self._db,
                {"speaker": label},
                "SELECT id FROM turns WHERE transcript_id = :transcript AND speaker = :index",
                {"transcript": head["id"], "index": index},
            )

    def count(self, recording_id: int | None = None) -> int:
        if recording_id is None:
            return self._db.execute("SELECT count(*) FROM transcripts").fetchone()[0]
        return self._db.execute(
            "SELECT count(*) FROM transcripts WHERE recording_id = ?", [recording_id]
        ).fetchone()[0]


def call_meta(row: dict) -> CallMeta:
    return CallMeta(
        uniqueid=row["uniqueid"],
        caller=row["caller"],
        callee=row["callee"],
        direction=row["direction"],
        started_at=row["started_at"],
        linkedid=row["linkedid"],
        kind=row["kind"],
    )


