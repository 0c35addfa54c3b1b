"""Full-text search: a small query language of our own, turned into a safe FTS5 expression.

Users type phone numbers, contractions and punctuation; handed to FTS5 raw, most of that is a
syntax error. So every word becomes a quoted FTS5 string and only our own operators stay bare.

Ranking: bm25, but only among the newest WINDOW (2 000) matching turns, those that pass the
filters; recent calls matter most to people searching, and bm25 over every hit of a common word
costs seconds at 100 000 calls (383 000 turns say "press"). The window's turns come first, best
match first; the older matches follow it, newest first. With fewer matches than WINDOW, that is
plain bm25 ranking of all of them. bm25's statistics (how rare each phrase is, the average
length of a turn) are those of the index the window is ranked in: fts.RECENT when the window
lies in its newest RECENT_TURNS turns, as it does for common words, else the full index.

Why 2 000 and not more: bm25 costs 2-4 µs per hit it scores (a phrase or three ANDed words at
the top of that range), plus a pass over every row that holds each word, in the index it ranks
in. At 100 000 calls on 2 cores (bench/search.py), a window of 5 000 put phrases, ANDs of common
words and common words with a month or number filter at 50-66 ms (p95); 2 000 puts them at
17-45 ms.

Counting: count_search() is exact up to SEARCH_COUNT_CAP; beyond, it stops counting and
returns SEARCH_COUNT_CAP + 1 (search_count_is_capped() says so), since counting 900 000 hits
of "to" takes longer than the search.

Filters cost no join per hit where it can be helped, and stay exact: the role is a MATCH term
in fts.RECENT (a join to the speaker in the full index); a day range becomes a range of turn
ids (calls.first_turn/last_turn, in the calls_day index), and hits are checked against their
call's day only where other calls' turns share that range; a number becomes MATCH terms on the
caller and callee columns (the stored numbers that contain it, from call_numbers), and hits are
checked against the stored number only where such a term could also match another number.
Where MATCH and the turn-id range alone pick the hits, the window is found and scored in one
pass.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import tzinfo

from sqlite_utils import Database

from appliance.errors import BadInput, BadQuery
from appliance.store import fts
from appliance.store.concern import Concern
from appliance.store.db import first
from appliance.store.filters import CallFilter, number_digits, where_clause
from appliance.store.query import OPERATORS, WORD, parse_query
from appliance.store.records import SearchHit

# "Did you mean": a word the transcripts do not hold is compared with those that start with the
# same letter, the commonest first (fts5vocab reads a range of terms without a scan).
_SIMILAR_CANDIDATES = 5000
_SIMILAR_CUTOFF = 0.75


SPEAKER_ROLES = ("caller", "callee", "speaker")

WINDOW = 2000  # bm25 ranks the newest this many matching turns; older ones follow, newest first
SEARCH_COUNT_CAP = 10_000  # count_search counts exactly up to here
_MAX_NUMBER_TERMS = 200  # numbers matching a number filter that still become MATCH terms

# Spoken words weigh most; a hit on a number or speaker label alone ranks below them. The
# role column of fts.RECENT only ever filters: weight 0. With a number filter, its numbers are
# MATCH terms on the caller and callee columns while ranking, and those columns weigh 0: the
# filter's terms add nothing, and hits on the words score as they would without the filter.
_WEIGHTS = {
    (fts.MAIN, False): "10.0, 2.0, 1.0, 1.0",
    (fts.RECENT, False): "10.0, 2.0, 1.0, 1.0, 0.0",
    (fts.MAIN, True): "10.0, 2.0, 0.0, 0.0",
    (fts.RECENT, True): "10.0, 2.0, 0.0, 0.0, 0.0",
}
_TEXT_COLUMNS = "{text speaker caller callee}"


def search_count_is_capped(count: int) -> bool:
    """True if count_search() stopped counting: there are more than SEARCH_COUNT_CAP hits."""
    return count > SEARCH_COUNT_CAP


@dataclass(frozen=True)
class _Search:
    """A search, prepared: the user's FTS5 expression and what the filters let through."""

    match: str
    role: str | None
    days: tuple[str, ...]  # conditions on the call `c` (day range, scope), checked per hit
    params: dict
    low: int | None  # the turn ids the day range allows (None: no bound)
    high: int | None
    numbers: tuple[str, ...] | None  # the numbers (as stored) a number filter allows
    numbers_matched: bool  # MATCH terms find exactly the hits of those numbers
    empty: bool  # the filters let nothing through


def _prepare(db: Database, query: str, role: str | None, where: CallFilter) -> _Search:
    where.where()  # a bad day raises ValueError before anything runs
    if role is not None and role not in SPEAKER_ROLES:
        raise BadInput(f"role must be one of {', '.join(SPEAKER_ROLES)}, got {role!r}")
    match = parse_query(query)
    days, params = where.dates().where()
    low = high = numbers = None
    numbers_matched = empty = False
    if days:
        low, high, turns = db.execute(
            "SELECT min(c.first_turn), max(c.last_turn), sum(c.turn_count) FROM calls c"
            + where_clause(days),
            params,
        ).fetchone()
        empty = low is None
        # Does the range hold the turns of other calls too? If not, no hit needs checking.
        if not empty and (turns == high - low + 1 or turns == _turns_between(db, low, high)):
            days = []
    if where.scope is not None:
        # The user's scope is checked per hit, on the hit's call, like a day range.
        scoped, scope_params = where.scope.where("c")
        days += scoped
        params.update(scope_params)
        empty = empty or where.scope.empty
    digits = number_digits(where.number)
    if digits:
        numbers = tuple(
            row[0]
            for row in db.execute(
                "SELECT DISTINCT number FROM call_numbers WHERE instr(digits, ?) > 0", [digits]
            )
        )
        params["numbers"] = json.dumps(numbers)
        empty = empty or not numbers
        # A number that FTS5 holds as one word of digits holds the typed digits inside that
        # word: any stored number with that word contains them too. Then MATCH is exact.
        numbers_matched = digits.isdigit() and all(
            len(words) == 1 and words[0].isdigit()
            for words in (WORD.findall(number) for number in numbers)
        )
    if role is not None:
        params["role"] = role
    return _Search(
        match, role, tuple(days), params, low, high, numbers, numbers_matched, empty
    )


def _turns_between(db: Database, low: int, high: int) -> int:
    """How many turns have an id in [low, high]: one FTS5 row each, and the index's docsize
    table is the narrowest table with a row per turn."""
    return db.execute(
        f"SELECT count(*) FROM {fts.MAIN}_docsize WHERE id BETWEEN ? AND ?", [low, high]
    ).fetchone()[0]


def _number_terms(s: _Search) -> str | None:
    """The number filter as MATCH terms on the caller and callee columns, if it can be one."""
    # As MATCH terms, numbers must tokenize here as FTS5 tokenized them: plain ASCII does.
    if not s.numbers or len(s.numbers) > _MAX_NUMBER_TERMS or not all(
        number.isascii() and WORD.search(number) for number in s.numbers
    ):
        return None
    phrases = " OR ".join(f'"{" ".join(WORD.findall(number))}"' for number in s.numbers)
    return f"{{caller callee}} : ({phrases})"


def _match(s: _Search, table: str, numbers: bool) -> str:
    """The FTS5 expression for `table`. With `numbers`, the number filter's numbers are MATCH
    terms as well, on the caller and callee columns: they find the candidates without reading
    every hit of the words, weigh nothing in ranking (_WEIGHTS) and mark nothing in the text."""
    terms = [f"{_TEXT_COLUMNS} : ({s.match})" if table == fts.RECENT else f"({s.match})"]
    if numbers and _number_terms(s):
        terms.append(_number_terms(s))
    if table == fts.RECENT and s.role is not None:
        terms.append(f'role : "{s.role}"')
    return " AND ".join(terms)


def _checks(s: _Search, table: str, matched: bool = True) -> tuple[str, list[str]]:
    """Joins and conditions that check each hit against the filters MATCH cannot express
    (`matched`: MATCH carries the number filter's terms)."""
    conditions = []
    if s.numbers is not None and not (s.numbers_matched and _number_terms(s) and matched):
        # Exact: the index's caller and callee columns hold the call's numbers as stored.
        numbers = "(SELECT value FROM json_each(:numbers))"
        conditions.append(f"({table}.caller IN {numbers} OR {table}.callee IN {numbers})")
    by_role = s.role is not None and table == fts.MAIN
    if not s.days and not by_role:
        return "", conditions
    # CROSS JOIN: the index leads, newest hit first, and the joins run for the hits read.
    joins = f" CROSS JOIN turns t ON t.id = {table}.rowid"
    if s.days:
        joins += (
            " JOIN transcripts tr ON tr.id = t.transcript_id"
            " JOIN recordings r ON r.id = tr.recording_id JOIN calls c ON c.id = r.call_id"
        )
        conditions += s.days
    if by_role:
        # A turn whose speaker has no row of its own is a plain "speaker", as
        # Transcript.speaker() reads it.
        joins += " LEFT JOIN speakers s ON s.transcript_id = t.transcript_id AND s.idx = t.speaker"
        conditions.append("COALESCE(s.role, 'speaker') = :role")
    return joins, conditions


def _hits_sql(
    s: _Search, table: str, low: int | None, high: int | None, numbers: bool = True
) -> tuple[str, dict]:
    """FROM ... WHERE for the hits in `table` that pass the filters, within [low, high]."""
    joins, conditions = _checks(s, table, numbers)
    where = [f"{table} MATCH :match", *conditions]
    if low is not None:
        where.append(f"{table}.rowid >= :low")
    if high is not None:
        where.append(f"{table}.rowid <= :high")
    return f" FROM {table}{joins} WHERE {' AND '.join(where)}", {
        **s.params,
        "match": _match(s, table, numbers),
        "low": low,
        "high": high,
    }


def _parts(db: Database, s: _Search) -> list[tuple[str, int | None, int | None]]:
    """Where the hits are, newest first: (index, lowest, highest turn id) to read in turn."""
    recent = fts.recent_state(db)
    if not recent.usable or (s.high is not None and s.high < recent.low):
        return [(fts.MAIN, s.low, s.high)]
    parts = [(fts.RECENT, s.low, s.high)]
    older = recent.low - 1 if s.high is None else min(s.high, recent.low - 1)
    if not recent.complete and (s.low is None or s.low <= older):
        parts.append((fts.MAIN, s.low, older))
    return parts


def _run(db: Database, sql: str, params: dict) -> list[tuple]:
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        # The parser should make this unreachable; a person still gets a BadQuery, not a crash.
        raise BadQuery(f"The search could not run ({exc}); try fewer or simpler words.", "query-failed") from None


@dataclass(frozen=True)
class _Window:
    """The newest WINDOW hits, in the index that ranks them."""

    table: str
    ids: list[int] | None  # newest first, checked against the filters; None: see below
    # With `ids` None, MATCH and the turn-id range alone pick the filtered hits, and the
    # window is the newest WINDOW of them in [low, high]: found and ranked in one pass.
    low: int | None = None
    high: int | None = None


def _direct(s: _Search, table: str) -> bool:
    """Whether MATCH and the turn-id range alone pick the filtered hits in `table`."""
    joins, conditions = _checks(s, table)
    return not joins and not conditions


def _window(db: Database, s: _Search) -> _Window:
    """The newest WINDOW hits, in the recent index if they all lie in it."""
    parts = _parts(db, s)
    table, low, high = parts[0]
    if _direct(s, table):
        if len(parts) == 1:
            return _Window(table, None, low, high)
        sql, params = _hits_sql(s, table, low, high)
        [(found,)] = _run(
            db, f"SELECT count(*) FROM (SELECT 1{sql} LIMIT :limit)", {**params, "limit": WINDOW}
        )
        if found >= WINDOW:
            return _Window(table, None, low, high)
        if _direct(s, fts.MAIN):
            return _Window(fts.MAIN, None, s.low, s.high)
    ids: list[int] = []
    ranked_in = fts.MAIN
    for table, low, high in parts:
        if len(ids) >= WINDOW:
            break
        sql, params = _hits_sql(s, table, low, high)
        found = _run(
            db,
            f"SELECT {table}.rowid" + sql + f" ORDER BY {table}.rowid DESC LIMIT :limit",
            {**params, "limit": WINDOW - len(ids)},
        )
        if found or not ids:
            ranked_in = table
        ids += [row[0] for row in found]
    return _Window(ranked_in, ids)


def _window_rows(s: _Search, w: _Window) -> tuple[str, dict]:
    """SELECT of (id, score) for the window's hits."""
    table = w.table
    numbers = _number_terms(s) is not None
    score = f"SELECT {table}.rowid AS id, bm25({table}, {_WEIGHTS[table, numbers]}) AS score"
    if w.ids is None:
        sql, params = _hits_sql(s, table, w.low, w.high)
        return score + sql + f" ORDER BY {table}.rowid DESC LIMIT {WINDOW}", params
    _, conditions = _checks(s, table, matched=numbers)
    where = [f"{table} MATCH :match", f"{table}.rowid BETWEEN :oldest AND :newest"]
    if conditions:
        # The window's turns, checked once already: no second round of checks.
        where.append(f"+{table}.rowid IN (SELECT value FROM json_each(:ids))")
    return f"{score} FROM {table} WHERE {' AND '.join(where)}", {
        "match": _match(s, table, numbers),
        "oldest": w.ids[-1] if w.ids else None,
        "newest": w.ids[0] if w.ids else None,
        "ids": json.dumps(w.ids) if conditions else None,
    }


def _ranked(db: Database, s: _Search, w: _Window, limit: int, offset: int) -> list[tuple]:
    """One page of the window as (turn id, bm25): best match first, then newest call, then the
    turn's order in the call.

    bm25 runs once over the window; only the hits up to the page's last rank (and any that tie
    with it) are joined to their call and turn, to break ties.
    """
    rows, params = _window_rows(s, w)
    return _run(
        db,
        f"""WITH ranked AS MATERIALIZED ({rows}),
          edge AS (SELECT score FROM ranked ORDER BY score LIMIT 1 OFFSET :last)
        SELECT ranked.id, ranked.score FROM ranked
        JOIN turns t ON t.id = ranked.id JOIN transcripts tr ON tr.id = t.transcript_id
        JOIN recordings r ON r.id = tr.recording_id
        WHERE ranked.score <= COALESCE((SELECT score FROM edge), ranked.score)
        ORDER BY ranked.score, r.call_id DESC, t.idx LIMIT :limit OFFSET :offset""",
        {**params, "last": offset + limit - 1, "limit": limit, "offset": offset},
    )


def _window_size(db: Database, s: _Search, w: _Window) -> tuple[int, int | None]:
    """How many hits the window holds, and its oldest."""
    if w.ids is not None:
        return len(w.ids), (w.ids[-1] if w.ids else None)
    sql, params = _hits_sql(s, w.table, w.low, w.high)
    [(count, oldest)] = _run(
        db,
        f"SELECT count(*), min(id) FROM (SELECT {w.table}.rowid AS id{sql}"
        f" ORDER BY {w.table}.rowid DESC LIMIT {WINDOW})",
        params,
    )
    return count, oldest


def _snippets(db: Database, s: _Search, table: str, ids: list[int]) -> dict[int, tuple]:
    """(speaker label, marked snippet) of these hits of the window, by turn id.

    MATCH reads the window's range once: cheaper than a lookup per hit, which seeks every
    word's list of rows anew (and builds a prefix's list anew). The number filter's terms, if
    any, skip the other numbers' hits and mark nothing in the text.
    """
    rows = _run(
        db,
        f"SELECT {table}.rowid, {table}.speaker,"
        f" snippet({table}, 0, char(57344), char(57345), '…', 12) FROM {table}"
        f" WHERE {table} MATCH :match AND {table}.rowid BETWEEN :oldest AND :newest"
        f" AND +{table}.rowid IN (SELECT value FROM json_each(:ids))",
        {
            "match": _match(s, table, _number_terms(s) is not None),
            "oldest": min(ids),
            "newest": max(ids),
            "ids": json.dumps(ids),
        },
    )
    return {row[0]: row[1:] for row in rows}


def _older(
    db: Database, s: _Search, before: int, limit: int, offset: int
) -> list[tuple[int, float, str, str]]:
    """Hits older than the window, newest first: (turn id, bm25, speaker, snippet)."""
    table = fts.MAIN
    high = before - 1 if s.high is None else min(s.high, before - 1)
    # Ranked and marked by the user's words alone, as in the window.
    sql, params = _hits_sql(s, table, s.low, high, numbers=False)
    return _run(
        db,
        f"SELECT {table}.rowid, bm25({table}, {_WEIGHTS[table, False]}), {table}.speaker,"
        f" snippet({table}, 0, char(57344), char(57345), '…', 12)" + sql
        + f" ORDER BY {table}.rowid DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


# What a hit shows of its call. A turn whose speaker has no row of its own is a plain "speaker".
_CALLS = """
SELECT t.id, r.call_id, t.idx AS turn_index, t.start_time, c.caller, c.callee, c.started_at,
  c.kind, COALESCE(s.role, 'speaker') AS role
FROM turns t
JOIN transcripts tr ON tr.id = t.transcript_id
JOIN recordings r ON r.id = tr.recording_id
JOIN calls c ON c.id = r.call_id
LEFT JOIN speakers s ON s.transcript_id = t.transcript_id AND s.idx = t.speaker
WHERE t.id IN (SELECT value FROM json_each(:ids))
"""


class Search(Concern):
    def suggestion(self, query: str) -> str | None:
        """The query with each word no transcript holds replaced by the closest word one does
        (of any call: check the scope's hits before offering it); None when every word is there
        or none is close enough."""
        changed, words = False, []
        for word in WORD.findall(query):
            if word in OPERATORS:
                words.append(word)
                continue
            # As unicode61 with remove_diacritics stores it: lower case, without accents.
            term = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(c))
            if first(self._db.query("SELECT 1 FROM turns_vocab WHERE term = ?", [term])):
                words.append(word)
                continue
            candidates = [row["term"] for row in self._db.query(
                "SELECT term FROM turns_vocab WHERE term >= :low AND term < :high ORDER BY doc DESC LIMIT :n",
                {"low": term[0], "high": chr(ord(term[0]) + 1), "n": _SIMILAR_CANDIDATES})]
            close = difflib.get_close_matches(term, candidates, n=1, cutoff=_SIMILAR_CUTOFF)
            words.append(close[0] if close else word)
            changed = changed or bool(close)
        return " ".join(words) if changed else None

    def hits(self, query: str, limit: int = 20, *, offset: int = 0, role: str | None = None,
             date_from: str | None = None, date_to: str | None = None, number: str | None = None,
             zone: tzinfo | None = None) -> list[SearchHit]:
        """One hit per matching turn in this scope; filters as in Calls.page(). Within the window
        of the newest WINDOW (2 000) hits: best match first (bm25), then newest call, then the
        turn's order in the call. Older hits follow, newest first."""
        where = CallFilter(date_from, date_to, number, scope=self.scope, zone=zone)
        s = _prepare(self._db, query, role, where)
        if s.empty or limit <= 0:
            return []
        w = _window(self._db, s)
        page: list[tuple] = []
        ranked = _ranked(self._db, s, w, limit, offset) if w.ids is None or offset < len(w.ids) else []
        if ranked:
            shown = _snippets(self._db, s, w.table, [id_ for id_, _ in ranked])
            page = [(id_, score, *shown[id_]) for id_, score in ranked]
        if len(page) < limit:
            size, oldest = _window_size(self._db, s, w)
            if size >= WINDOW:
                skip = max(0, offset - size)
                page += _older(self._db, s, oldest, offset + limit - max(offset, size), skip)
        if not page:
            return []
        calls = {row[0]: row for row in _run(self._db, _CALLS, {"ids": json.dumps([row[0] for row in page])})}
        return [
            SearchHit(
                call_id=call_id,
                turn_index=turn_index,
                speaker=speaker,
                start=start,
                snippet=snippet,
                rank=score,
                caller=caller,
                callee=callee,
                started_at=started_at,
                role=hit_role,
                kind=kind,
            )
            for id_, score, speaker, snippet in page
            for _, call_id, turn_index, start, caller, callee, started_at, kind, hit_role in (
                calls[id_],
            )
        ]

    def count(self, query: str, *, role: str | None = None, date_from: str | None = None,
              date_to: str | None = None, number: str | None = None, zone: tzinfo | None = None) -> int:
        """How many turns match: exact up to SEARCH_COUNT_CAP (10 000); beyond that it stops
        counting and returns SEARCH_COUNT_CAP + 1, for which count_is_capped() is true ("more
        than 10 000")."""
        where = CallFilter(date_from, date_to, number, scope=self.scope, zone=zone)
        s = _prepare(self._db, query, role, where)
        if s.empty:
            return 0
        cap, count = SEARCH_COUNT_CAP + 1, 0
        for table, low, high in _parts(self._db, s):
            sql, params = _hits_sql(s, table, low, high)
            [(found,)] = _run(
                self._db,
                f"SELECT count(*) FROM (SELECT 1{sql} LIMIT :limit)",
                {**params, "limit": cap - count},
            )
            count += found
            if count >= cap:
                break
        return count

    count_is_capped = staticmethod(search_count_is_capped)
