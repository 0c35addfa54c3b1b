"""The store: the only package that speaks SQL. Schema, migrations, queue, transcripts, search,
and the web's users, tokens and audit log."""

from appliance.store.records import (
    ApiToken,
    AuditEntry,
    CallSummary,
    EnqueueResult,
    Job,
    SearchHit,
    User,
)
from appliance.store.schema import JOB_STATES
from appliance.store.search import SEARCH_COUNT_CAP, SPEAKER_ROLES, search_count_is_capped
from appliance.store.store import Store
from appliance.store.users import LOCALES, ROLES, name_key

__all__ = [
    "ApiToken",
    "AuditEntry",
    "CallSummary",
    "EnqueueResult",
    "JOB_STATES",
    "Job",
    "LOCALES",
    "ROLES",
    "SEARCH_COUNT_CAP",
    "SPEAKER_ROLES",
    "SearchHit",
    "Store",
    "User",
    "name_key",
    "search_count_is_capped",
]
