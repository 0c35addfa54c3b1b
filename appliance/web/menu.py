"""The voice menu on the call page: what the caller said or pressed, and where it led."""

from __future__ import annotations

from flask import Blueprint

from appliance.web import get_store

bp = Blueprint("menu", __name__)


@bp.app_context_processor
def menu_helpers() -> dict:
    def menu_interactions(call_id: int) -> list:
        return get_store().menu.of_call(call_id)

    return {"menu_interactions": menu_interactions}
