"""The store: the only package that speaks SQL. Schema, migrations, queue, transcripts, search."""

from appliance.store.records import CallSummary, EnqueueResult, Job, SearchHit
from appliance.store.schema import JOB_STATES
from appliance.store.store import Store

__all__ = ["CallSummary", "EnqueueResult", "JOB_STATES", "Job", "SearchHit", "Store"]
