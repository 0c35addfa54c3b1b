"""The jobs page (admin): queue, progress, failures with their reasons, re-run."""

from __future__ import annotations

import time

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from appliance.errors import NotFound
from appliance.web import get_store, settings
from appliance.web.auth import admin_required, audited

bp = Blueprint("jobs", __name__)


@bp.route("/jobs")
@admin_required
def index():
    store = get_store()
    return render_template(
        "jobs.html",
        stats=store.jobs.queue_stats(),
        active=store.jobs.all(["queued", "running"], limit=200),
        failed=store.jobs.all(["failed"], limit=200),
        quarantined=store.jobs.all(["quarantined"], limit=200),
        workers=store.workers.all(),
        now=time.time(),
        offline_after=settings().worker_offline_seconds,
    )


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@admin_required
def retry(job_id: int):
    try:
        with audited("retry", f"job {job_id}"):
            get_store().jobs.retry(job_id)
    except NotFound:
        abort(404)
    flash(_("Job %(id)s is queued again.", id=job_id), "info")
    return redirect(url_for("jobs.index"))
