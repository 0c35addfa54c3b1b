"""The nlp stage: insights for every stored transcript that has none yet.

appliance.jobs.stages runs it after each commit and as a safety net (a worker killed in
between, calls stored before this stage existed). Saving the insights
also queues the call for the site's webhooks, in one transaction.
"""

from __future__ import annotations

import logging
import time

from appliance.config import Settings
from appliance.nlp import Insights
from appliance.nlp.entities import call_entities
from appliance.nlp.keywords import call_keywords
from appliance.nlp.llm import summariser_for
from appliance.nlp.summary import extractive_summary
from appliance.transcript.model import Transcript

log = logging.getLogger(__name__)
BATCH = 20  # calls per run, so a backlog never holds the worker up for long


def analyse(transcript: Transcript, settings: Settings, llm=None) -> Insights:
    """Keywords, extractive summary and entities; an LLM's prose summary when `llm` is given."""
    keywords = call_keywords(transcript, settings.nlp_keywords)
    lines = extractive_summary(transcript, keywords)
    entities = call_entities(transcript, settings.nlp_entity_patterns)
    abstract, summariser = None, "extractive"
    if llm is not None and transcript.turns:
        try:
            abstract, summariser = llm.abstract(transcript, lines), llm.name
        except Exception as exc:  # noqa: BLE001 - the extractive summary stands; the LLM is optional
            log.warning("nlp: the local LLM failed (%s); keeping the extractive summary", type(exc).__name__)
    return Insights(keywords=keywords, summary=lines, entities=entities, summariser=summariser, abstract=abstract)


def run_pending(store, settings: Settings, limit: int = BATCH) -> int:
    """Analyse up to `limit` calls; returns how many were stored."""
    llm = summariser_for(settings) if settings.nlp_enabled else None
    return sum(analyse_call(store, settings, call_id, transcript_id, llm)
               for call_id, transcript_id in store.insights.needing(limit))


def analyse_call(store, settings: Settings, call_id: int, transcript_id: int, llm=None) -> bool:
    """Make and store one call's insights (again, after an edit of its transcript)."""
    transcript = store.transcripts.get(call_id)
    if transcript is None:
        return False
    started, error = time.monotonic(), None
    if not settings.nlp_enabled:
        insights = Insights(summariser="off")  # still stored: webhooks follow insights
    else:
        try:
            insights = analyse(transcript, settings, llm)
        except Exception as exc:  # noqa: BLE001 - stored with the call, never retried in a loop
            log.exception("nlp: call %d failed", call_id)
            insights, error = Insights(), f"{type(exc).__name__}: {exc}"
    store.insights.save(call_id, transcript_id, insights.to_dict(), error)
    # Sizes and times only: never the text.
    log.info("nlp: call %d, %d turns, %d keywords, %d entities in %.0f ms", call_id,
             len(transcript.turns), len(insights.keywords), len(insights.entities),
             (time.monotonic() - started) * 1000)
    return True
