"""The search language people type: bare words, "phrases", word* prefixes, AND / OR / NOT.

`parse_query` turns it into an FTS5 query, bounded so that no search costs the box too much;
`query_words` gives back the words alone (erasure finds calls by them).
"""

from __future__ import annotations

import re

from appliance.errors import BadQuery, QueryTooCostly

_TOKEN = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')
# Letters and digits only: "_" and punctuation separate words for FTS5's unicode61 as well.
WORD = re.compile(r"[^\W_]+")
OPERATORS = ("AND", "OR", "NOT")
# FTS5's cost grows with the square of the number of terms (each term's positions are matched
# and marked against the others': 32 terms take 40 ms, 1 000 take 15 s), so the terms and the
# text they come from are bounded; a one-letter prefix reads nearly the whole index.
MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MIN_PREFIX = 2


def parse_query(query: str) -> str:
    """Bare words and "phrases" (a trailing * makes a prefix), joined by AND, OR, NOT.

    Each term becomes a quoted FTS5 string of its words, so "30-1234" turns into the phrase
    "30 1234", which is how the same number was tokenized when it was stored.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QueryTooCostly(f"The search is too long: at most {MAX_QUERY_CHARS} characters.")
    if query.count('"') % 2:
        raise BadQuery('The search has an unbalanced quote ("): close the phrase or remove it.', "unbalanced-quote")
    parts: list[str] = []
    for phrase, star, bare in _TOKEN.findall(query):
        if bare in OPERATORS:
            parts.append(bare)
            continue
        if bare:
            phrase, star = bare, "*" if bare.endswith("*") else ""
        words = WORD.findall(phrase)
        if star and len("".join(words)) < MIN_PREFIX:
            raise QueryTooCostly(
                f"A prefix search (word*) needs at least {MIN_PREFIX} letters before the *."
            )
        if words:
            parts.append(f'"{" ".join(words)}"{star}')
    if not any(part in OPERATORS for part in parts):
        # Terms joined by AND alone: a repeated one finds nothing more, and costs as much again.
        parts = list(dict.fromkeys(parts))
    if sum(part not in OPERATORS for part in parts) > MAX_TERMS:
        raise QueryTooCostly(f"The search has too many words: at most {MAX_TERMS}.")
    if not parts:
        raise BadQuery('Nothing to search for: type a word, a number or a "phrase".', "empty-query")
    for i, part in enumerate(parts):
        if part in OPERATORS and (i == 0 or i == len(parts) - 1 or parts[i - 1] in OPERATORS):
            raise BadQuery(
                f"{part} needs a search word on each side, e.g. 'invoice {part} paid'"
                f" (write {part.lower()} in lower case to search for the word itself).",
                "lonely-operator", operator=part, word=part.lower(),
            )
    return " ".join(parts)


def query_words(query: str) -> list[str]:
    """The words of a search query, without its operators and quotes."""
    return [word for word in WORD.findall(query) if word not in OPERATORS]
