"""Periodic tasks run by APScheduler beside the worker: spool sweep, voicemail scan, mail to
mailbox owners, phrase-alert mail, webhook deliveries, the safety net of the after-commit stages
and stale-lease recovery; the caller adds the tasks of features above the queue (operations: appliance.ops.schedule).

Each task opens its own store connection: APScheduler runs them on its own threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from appliance.asterisk.cdr import sync as sync_call_records
from appliance.config import Settings
from appliance.jobs.freepbx import import_tree as import_freepbx
from appliance.jobs.pull import pull as pull_recordings
from appliance.jobs.spool import sweep
from appliance.jobs.stages import add_scheduler_jobs as add_stage_jobs
from appliance.jobs.voicemail import scan_mailboxes
from appliance.mail.alerts import deliver_alerts
from appliance.mail.voicemail import deliver_pending
from appliance.store import Store
from appliance.webhooks.delivery import deliver_due

log = logging.getLogger(__name__)

# add(scheduler, settings, with_store, common): one feature's periodic tasks.
AddJobs = Callable[..., None]


def _with_store(settings: Settings, task):
    def run() -> None:
        store = Store.open(settings)
        try:
            task(store)
        finally:
            store.close()

    return run


def _recover(store: Store) -> None:
    recovered = store.jobs.recover_stale_leases()
    if recovered:
        log.warning("recovered %d job(s) whose worker stopped renewing its lease", recovered)


def start_scheduler(settings: Settings, more: Iterable[AddJobs] = ()) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    # coalesce + max_instances=1: a slow sweep never runs twice at once or catches up in bursts.
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    scheduler.add_job(
        _with_store(settings, lambda store: sweep(store, settings)), "interval",
        seconds=settings.sweep_interval_seconds, id="spool-sweep",
        # At once too, so a restart picks up what arrived while the worker was down.
        next_run_time=datetime.now(timezone.utc), **common,
    )
    if settings.freepbx_monitor_dir is not None:
        scheduler.add_job(
            _with_store(settings, lambda store: import_freepbx(store, settings)), "interval",
            seconds=settings.sweep_interval_seconds, id="freepbx-import",
            next_run_time=datetime.now(timezone.utc), **common,
        )
    if settings.pbx_pull_from:
        scheduler.add_job(
            _with_store(settings, lambda store: pull_recordings(store, settings)), "interval",
            seconds=settings.pbx_pull_interval_seconds, id="pbx-pull",
            next_run_time=datetime.now(timezone.utc), **common,
        )
    if settings.cdr_csv_path or settings.cdr_sqlite_path or settings.cdr_database_url:
        scheduler.add_job(
            _with_store(settings, lambda store: sync_call_records(store, settings)), "interval",
            seconds=settings.cdr_scan_interval_seconds, id="cdr-sync",
            next_run_time=datetime.now(timezone.utc), **common,
        )
    scheduler.add_job(
        _with_store(settings, lambda store: scan_mailboxes(store, settings)), "interval",
        seconds=settings.sweep_interval_seconds, id="voicemail-scan",
        next_run_time=datetime.now(timezone.utc), **common,
    )
    scheduler.add_job(
        _with_store(settings, lambda store: deliver_pending(store, settings)), "interval",
        seconds=max(1.0, settings.sweep_interval_seconds), id="mail", **common,
    )
    scheduler.add_job(
        _with_store(settings, lambda store: deliver_alerts(store, settings)), "interval",
        seconds=max(1.0, settings.sweep_interval_seconds), id="alert-mail", **common,
    )
    scheduler.add_job(
        _with_store(settings, _recover), "interval",
        seconds=max(1.0, settings.lease_seconds / 2), id="stale-leases", **common,
    )
    scheduler.add_job(
        _with_store(settings, lambda store: deliver_due(store, settings)), "interval",
        seconds=min(max(1.0, settings.sweep_interval_seconds), 5.0), id="webhooks", **common,
    )
    for add in (add_stage_jobs, *more):
        add(scheduler, settings, _with_store, common)
    scheduler.start()
    return scheduler
