"""The LAN endpoint remote transcription workers talk to (appliance/jobs/dispatch.py).

No login: every request carries the per-job token of its ticket (`Authorization: Bearer`).
A token opens one job only; the recording's files only while its holder still owns the job;
progress renews that holder's lease; a result is stored once per job, whoever sends it first.
"""

from __future__ import annotations

import math
from pathlib import Path

from flask import Blueprint, abort, jsonify, request, send_file

from appliance.jobs.contract import JobResult, holder_of, worker_secret
from appliance.jobs.dispatch import accept_result, report_progress
from appliance.web import open_store, settings
from appliance.web.auth import csrf

WORKER_PATH = "/worker/"
bp = Blueprint("worker", __name__, url_prefix=WORKER_PATH.rstrip("/"))
csrf.exempt(bp)  # no cookies: the token is the credential
# A long call's words in JSON; the UI's own limit (1 MiB) is too small for them.
MAX_RESULT_BYTES = 64 << 20
MAX_REASON_CHARS = 500
MAX_NAME_CHARS = 100


def _holder(job_id: int) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    holder = holder_of(worker_secret(settings().data_dir), job_id, token.strip()) if scheme.lower() == "bearer" else None
    if holder is None:
        abort(401)
    return holder


def _body() -> dict:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: as unreadable as any garbage
        body = None
    if not isinstance(body, dict):
        abort(400, "a JSON object is expected")
    return body


@bp.get("/jobs/<int:job_id>/files/<int:index>")
def recording_file(job_id: int, index: int):
    job = open_store().jobs.held(job_id, _holder(job_id))
    if job is None:
        abort(403, "this job is not held by this token (any more)")
    if index >= len(job.paths):
        abort(404)
    path = Path(job.paths[index])
    if not path.is_file():
        abort(410, "the recording is gone")
    return send_file(path, mimetype="application/octet-stream", max_age=0)


@bp.post("/jobs/<int:job_id>/progress")
def progress(job_id: int):
    holder = _holder(job_id)
    body = _body()
    fraction = body.get("progress")
    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not math.isfinite(fraction):
        abort(400, "progress must be a number from 0 to 1")
    # Who reports, for the jobs page: the worker's name, its model and device.
    worker, model, device = (str(body.get(key) or "")[:MAX_NAME_CHARS] for key in ("worker", "model", "device"))
    if not report_progress(open_store(), settings(), job_id, holder, float(fraction), worker, model, device):
        abort(409, "this job is no longer held by this token")
    return jsonify(state="running")


@bp.post("/jobs/<int:job_id>/result")
def result(job_id: int):
    _holder(job_id)
    request.max_content_length = MAX_RESULT_BYTES
    body = _body()
    try:
        result = JobResult.from_dict(body)
    except (TypeError, KeyError, ValueError, AttributeError):
        abort(400, "not a job result")
    if result.job_id != job_id:
        abort(400, "the result is for another job")
    state = accept_result(open_store(), settings(), result)
    return jsonify(state=state), 410 if state == "deleted" else 200


@bp.post("/jobs/<int:job_id>/failure")
def failure(job_id: int):
    holder = _holder(job_id)
    body = _body()
    reason = str(body.get("reason") or "the remote worker gave no reason")[:MAX_REASON_CHARS]
    code, values = _error_case(body)
    config = settings()
    state = open_store().jobs.fail(
        job_id, holder, reason, permanent=body.get("permanent") is True,
        max_attempts=config.max_attempts, backoff_seconds=config.retry_backoff_seconds, code=code, values=values,
    )
    return jsonify(state=state)


def _error_case(body: dict) -> tuple[str | None, dict | None]:
    """The failure's case and values as the worker sent them, if they are short names and plain
    values; else none (the page shows the English reason then)."""
    code, values = body.get("code"), body.get("values") or {}
    plain = isinstance(values, dict) and len(values) <= 8 and all(
        isinstance(key, str) and len(key) <= 40 and isinstance(value, (str, int, float))
        and len(str(value)) <= MAX_REASON_CHARS for key, value in values.items())
    if isinstance(code, str) and len(code) <= 40 and plain:
        return code, values
    return None, None


@bp.errorhandler(400)
@bp.errorhandler(401)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(409)
@bp.errorhandler(410)
@bp.errorhandler(413)
def error(exc):
    return jsonify(error=exc.description if exc.code != 404 else "not found"), exc.code
