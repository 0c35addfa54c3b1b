"""The stages after a transcript is stored: insights (nlp), conversation metrics, phrase alerts.

The worker and the dispatcher run them right after they commit a transcript; the scheduler
runs them as a safety net (a worker killed in between, calls from before a stage existed).
Each stage works on the calls that lack its results, so a stage that fails leaves them pending
for its next run: it is logged and never fails the transcribed job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from appliance.analytics.phrases import run_pending as alert_pending
from appliance.analytics.stage import run_pending as measure_pending
from appliance.config import Settings
from appliance.nlp.stage import run_pending as analyse_pending
from appliance.store import Store

log = logging.getLogger(__name__)

STAGES: tuple[tuple[str, Callable[[Store, Settings], object]], ...] = (
    ("nlp", analyse_pending),
    ("metrics", measure_pending),
    ("alerts", alert_pending),
)


def run_safely(name: str, run_pending: Callable[[Store, Settings], object], store: Store,
               settings: Settings) -> None:
    try:
        run_pending(store, settings)
    except Exception:  # noqa: BLE001 - the stage's next run picks the call up again
        log.exception("%s: stage failed", name)


def run_after_commit(store: Store, settings: Settings) -> None:
    for name, run_pending in STAGES:
        run_safely(name, run_pending, store, settings)


def add_scheduler_jobs(scheduler, settings: Settings, with_store, common: dict) -> None:
    """Each stage's safety-net run, beside the other periodic tasks."""
    for name, run_pending in STAGES:
        scheduler.add_job(
            with_store(settings, lambda store, name=name, run=run_pending: run_safely(name, run, store, settings)),
            "interval", seconds=max(1.0, settings.sweep_interval_seconds), id=name, **common,
        )
