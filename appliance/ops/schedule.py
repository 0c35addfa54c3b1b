"""The operations tasks APScheduler runs beside the worker: retention, the disk guard, and the
worker's sign of life that /healthz reads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from appliance.config import Settings
from appliance.ops.health import check_disk, mark_worker_alive, worker_interval
from appliance.ops.retention import run_retention

DISK_CHECK_SECONDS = 60.0


def add_ops_jobs(scheduler, settings: Settings, with_store, common: dict) -> None:
    """`with_store(settings, task)` wraps a task in its own store connection (jobs.scheduler)."""
    now = datetime.now(timezone.utc)
    scheduler.add_job(with_store(settings, mark_worker_alive), "interval", seconds=worker_interval(settings),
                      id="worker-alive", next_run_time=now, **common)
    scheduler.add_job(with_store(settings, lambda store: check_disk(store, settings)), "interval",
                      seconds=min(DISK_CHECK_SECONDS, worker_interval(settings)), id="disk-guard",
                      next_run_time=now, **common)
    # Not at once: a restarted worker first catches up on its queue.
    scheduler.add_job(with_store(settings, lambda store: run_retention(store, settings)), "interval",
                      seconds=settings.retention_interval_seconds, id="retention",
                      next_run_time=now + timedelta(seconds=min(60.0, settings.retention_interval_seconds)),
                      **common)
