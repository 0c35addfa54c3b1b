"""Full-text search: a small query language of our own, turned into a safe FTS5 expression.

Users type phone numbers, contractions and punctuation; handed to FTS5 raw, most of that is a
syntax error. So every word becomes a quoted FTS5 string and only our own operators stay bare.
"""

from __future__ import annotations

import re
import sqlite3

from sqlite_utils import Database

from appliance.errors import BadQuery
from appliance.store.filters import CallFilter
from appliance.store.records import SearchHit

_TOKEN = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')
# Letters and digits only: "_" and punctuation separate words for FTS5's unicode61 as well.
_WORD = re.compile(r"[^\W_]+")
_OPERATORS = ("AND", "OR", "NOT")


def parse_query(query: str) -> str:
    """Bare words and "phrases" (a trailing * makes a prefix), joined by AND, OR, NOT.

    Each term becomes a quoted FTS5 string of its words, so "30-1234" turns into the phrase
    "30 1234", which is how the same number was tokenized when it was stored.
    """
    if query.count('"') % 2:
        raise BadQuery('The search has an unbalanced quote ("): close the phrase or remove it.')
    parts: list[str] = []
    for phrase, star, bare in _TOKEN.findall(query):
        if bare in _OPERATORS:
            parts.append(bare)
            continue
        if bare:
            phrase, star = bare, "*" if bare.endswith("*") else ""
        words = _WORD.findall(phrase)
        if words:
            parts.append(f'"{" ".join(words)}"{star}')
    if not parts:
        raise BadQuery('Nothing to search for: type a word, a number or a "phrase".')
    for i, part in enumerate(parts):
        if part in _OPERATORS and (i == 0 or i == len(parts) - 1 or parts[i - 1] in _OPERATORS):
            raise BadQuery(
                f"{part} needs a search word on each side, e.g. 'invoice {part} paid'"
                f" (write {part.lower()} in lower case to search for the word itself)."
            )
    return " ".join(parts)


SPEAKER_ROLES = ("caller", "callee", "speaker")

# One row per matching turn. A turn whose speaker has no row of its own is a plain "speaker",
# as Transcript.speaker() reads it.
_FROM = """
FROM turns_fts
JOIN turns t ON t.id = turns_fts.rowid
JOIN transcripts tr ON tr.id = t.transcript_id
JOIN recordings r ON r.id = tr.recording_id
JOIN calls c ON c.id = r.call_id
LEFT JOIN speakers s ON s.transcript_id = t.transcript_id AND s.idx = t.speaker
WHERE turns_fts MATCH :match
"""

# Spoken words weigh most; a hit on a number or speaker label alone ranks below them.
_HITS = (
    """
SELECT r.call_id, t.idx AS turn_index, turns_fts.speaker AS speaker, t.start_time,
  snippet(turns_fts, 0, char(57344), char(57345), '…', 12) AS snippet,
  bm25(turns_fts, 10.0, 2.0, 1.0, 1.0) AS score, c.caller, c.callee, c.started_at, c.kind,
  COALESCE(s.role, 'speaker') AS role
"""
    + _FROM
)


def _where(query: str, role: str | None, where: CallFilter) -> tuple[str, dict]:
    """The conditions after MATCH, and all parameters."""
    conditions, params = where.where()
    if role is not None:
        if role not in SPEAKER_ROLES:
            raise ValueError(f"role must be one of {', '.join(SPEAKER_ROLES)}, got {role!r}")
        conditions.append("COALESCE(s.role, 'speaker') = :role")
        params["role"] = role
    return "".join(f" AND {condition}" for condition in conditions), {
        **params,
        "match": parse_query(query),
    }


def _run(db: Database, sql: str, params: dict) -> list[dict]:
    try:
        return list(db.query(sql, params))
    except sqlite3.OperationalError as exc:
        # The parser should make this unreachable; a person still gets a BadQuery, not a crash.
        raise BadQuery(f"The search could not run ({exc}); try fewer or simpler words.") from None


def search(
    db: Database, query: str, limit: int, offset: int, role: str | None, where: CallFilter
) -> list[SearchHit]:
    """Best match first (bm25), then newest call, then the turn's order in the call."""
    conditions, params = _where(query, role, where)
    rows = _run(
        db,
        _HITS + conditions + " ORDER BY score, r.call_id DESC, t.idx LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return [
        SearchHit(
            call_id=row["call_id"],
            turn_index=row["turn_index"],
            speaker=row["speaker"],
            start=row["start_time"],
            snippet=row["snippet"],
            rank=row["score"],
            caller=row["caller"],
            callee=row["callee"],
            started_at=row["started_at"],
            role=row["role"],
            kind=row["kind"],
        )
        for row in rows
    ]


def count_search(db: Database, query: str, role: str | None, where: CallFilter) -> int:
    conditions, params = _where(query, role, where)
    [row] = _run(db, "SELECT count(*) AS n" + _FROM + conditions, params)
    return row["n"]
