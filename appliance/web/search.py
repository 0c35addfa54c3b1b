"""Search across all calls: ranked hits with highlighted snippets that link to the moment."""

from __future__ import annotations

import math

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup, escape

from appliance.errors import BadQuery, QueryTooCostly
from appliance.store import search as store_search
from appliance.web import get_store
from appliance.web.auth import audit
from appliance.web.calls import list_filters
from appliance.web.inputs import page_number

bp = Blueprint("search", __name__)
PAGE_SIZE = 20
ROLES = ("caller", "callee", "speaker")


def highlight(hit) -> Markup:
    """The snippet escaped, its matches in <mark>."""
    return Markup(hit.marked("<mark>", "</mark>", escape=lambda text: str(escape(text))))


def query_error(exc: BadQuery) -> str:
    """What a person reads when the store refuses a search; the limits in their language."""
    if isinstance(exc, QueryTooCostly):
        return _("The search is too long: use at most %(chars)d characters and %(terms)d words,"
                 " and at least %(prefix)d letters before a *.", chars=store_search.MAX_QUERY_CHARS,
                 terms=store_search.MAX_TERMS, prefix=store_search.MIN_PREFIX)
    return str(exc)


def search_filters() -> dict:
    role = request.args.get("role")
    return {**list_filters(), "role": role if role in ROLES else None}


@bp.route("/search")
def search():
    query = (request.args.get("q") or "").strip()
    filters = search_filters()
    hits, total, error = [], 0, None
    page = page_number()
    if query:
        store = get_store()
        try:
            total = store.count_search(query, **filters)
            hits = store.search(query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
        except BadQuery as exc:
            error = query_error(exc)
        audit("search", None, None)  # what was searched is not logged: it can be personal
    status = 400 if error else 200
    # Past SEARCH_COUNT_CAP the store stops counting: the page says "more than" that many.
    return render_template("search.html", query=query, hits=hits, total=total, error=error, filters=filters,
                           roles=ROLES, page=page, pages=max(1, math.ceil(total / PAGE_SIZE)),
                           capped=store_search.search_count_is_capped(total),
                           count_cap=store_search.SEARCH_COUNT_CAP,
                           highlight=highlight), status
