"""Search across all calls: ranked hits with highlighted snippets that link to the moment."""

from __future__ import annotations

import math
import re

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup, escape

from appliance.errors import BadQuery, QueryTooCostly
from appliance.store import search as store_search
from appliance.store.query import MAX_QUERY_CHARS, MAX_TERMS, MIN_PREFIX
from appliance.web import get_store
from appliance.web.auth import audit
from appliance.web.calls import list_filters
from appliance.web.inputs import page_number
from appliance.web.labels import error_text

bp = Blueprint("search", __name__)
PAGE_SIZE = 20
SNIPPETS_PER_CALL = 3
PARTY_CALLS = 20
# What a typed phone number looks like: "+49 30 1234567", "030/123-45".
_NUMBER = re.compile(r"\+?[0-9][0-9 ()/.-]*")
ROLES = ("caller", "callee", "speaker")


def highlight(hit) -> Markup:
    """The snippet escaped, its matches in <mark>."""
    return Markup(hit.marked("<mark>", "</mark>", escape=lambda text: str(escape(text))))


def query_error(exc: BadQuery) -> str:
    """What a person reads when the store refuses a search; the limits in their language."""
    if isinstance(exc, QueryTooCostly):
        return _("The search is too long: use at most %(chars)d characters and %(terms)d words,"
                 " and at least %(prefix)d letters before a *.", chars=MAX_QUERY_CHARS,
                 terms=MAX_TERMS, prefix=MIN_PREFIX)
    return error_text(exc)


def search_filters() -> dict:
    role = request.args.get("role")
    return {**list_filters(), "role": role if role in ROLES else None}


def by_call(hits) -> list[list]:
    """The hits grouped by call, in the order of each call's best hit; the best few of each."""
    groups: dict[int, list] = {}
    for hit in hits:
        groups.setdefault(hit.call_id, []).append(hit)
    return [group[:SNIPPETS_PER_CALL] for group in groups.values()]


def party_calls(store, query: str) -> list:
    """The calls from or to the number typed, or with a speaker of the name typed."""
    if _NUMBER.fullmatch(query) and sum(ch.isdigit() for ch in query) >= 3:
        return store.calls.page(limit=PARTY_CALLS, number=query)
    return store.calls.page(limit=PARTY_CALLS, speaker=query)


def did_you_mean(store, query: str, filters: dict) -> str | None:
    """The query with a misspelt word corrected from the transcripts' words, offered only when
    it finds something this user may see (the vocabulary is every call's)."""
    suggested = store.search.suggestion(query)
    return suggested if suggested and store.search.count(suggested, **filters) else None


@bp.route("/search")
def search():
    query = (request.args.get("q") or "").strip()
    filters = search_filters()
    hits, total, error, parties, suggested = [], 0, None, [], None
    page = page_number()
    if query:
        store = get_store()
        parties = party_calls(store, query)
        try:
            total = store.search.count(query, **filters)
            hits = store.search.hits(query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
            suggested = None if total else did_you_mean(store, query, filters)
        except BadQuery as exc:
            error = query_error(exc)
        audit("search", None, None)  # what was searched is not logged: it can be personal
    status = 400 if error else 200
    # Past SEARCH_COUNT_CAP the store stops counting: the page says "more than" that many.
    return render_template("search.html", query=query, groups=by_call(hits), total=total, error=error,
                           filters=filters, parties=parties, suggested=suggested,
                           roles=ROLES, page=page, pages=max(1, math.ceil(total / PAGE_SIZE)),
                           capped=store_search.search_count_is_capped(total),
                           count_cap=store_search.SEARCH_COUNT_CAP,
                           highlight=highlight), status
