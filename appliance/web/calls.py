"""Calls: the list, the call page with player and transcript, audio, exports, rename, delete."""

from __future__ import annotations

import io
import json
import math
import secrets
from datetime import date
from pathlib import Path

import soundfile
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from appliance.analytics.metrics import stored_public
from appliance.errors import ApplianceError, BadQuery, LegalHold, NotAllowed, NotFound
from appliance.store.filters import DIRECTIONS
from appliance.transcript.exports import export
from appliance.web import get_store, settings
from appliance.web.auth import admin_required, audit, audited
from appliance.web.contacts import name_all_calls, speaker_number
from appliance.web.i18n import local_iso, local_transcript
from appliance.web.inputs import bounded_int, page_number
from appliance.web.labels import error_text
from appliance.web.listens import Listens, seconds
from appliance.web.playback import cache_path, playable_file
from appliance.web.ranges import ByteRange, Unsatisfiable, byte_range
from appliance.web.streams import send_file_later

bp = Blueprint("calls", __name__)
_listens = Listens()  # this web process's playback sessions


@bp.app_template_global()
def player_src(call_id: int) -> str:
    """A player's audio URL, with a playback session key of its own (appliance/web/listens.py)."""
    return url_for("calls.audio", call_id=call_id, play=secrets.token_urlsafe(9))
PAGE_SIZE = 25
MOST_SELECTED = 500  # calls one bulk action takes
CALL_STATES = ("queued", "running", "done", "failed", "quarantined")
CALL_KINDS = ("call", "voicemail", "note")
MESSAGE_KINDS = ("voicemail", "note")  # their lists show mailbox, owner, new/heard and the text
SORTS = ("start", "duration", "caller")
# A column's first click: the newest and the longest calls first, callers from A.
FIRST_DIRECTION = {"start": "desc", "duration": "desc", "caller": "asc"}
# Asterisk's CDR dispositions as a person reads them.
DISPOSITIONS = {"ANSWERED": _l("answered"), "NO ANSWER": _l("not answered"), "BUSY": _l("busy"),
                "FAILED": _l("failed"), "CONGESTION": _l("network busy")}
EXPORT_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "vcon": "application/vcon",  # the IETF conversation container (appliance/analytics/vcon.py)
}


def _date(value: str | None) -> str | None:
    """A YYYY-MM-DD date from the query string; anything else means no filter."""
    try:
        return date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


def list_filters() -> dict:
    """The filters shared by the calls list, its API and the search page; the dates are days of
    the user's time zone."""
    args = request.args
    return {
        "date_from": _date(args.get("from")),
        "date_to": _date(args.get("to")),
        "number": (args.get("number") or "").strip() or None,
        "zone": get_timezone(),
    }


def parse_seconds(value: str | None) -> float | None:
    """A duration typed as seconds ("90") or m:ss ("1:30"); anything else means no filter."""
    text = (value or "").strip()
    try:
        minutes, colon, secs = text.partition(":")
        seconds = int(minutes) * 60 + int(secs) if colon else float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


def call_filters() -> dict:
    """Every filter of the calls list, its exports and its API: list_filters and the list's own."""
    args = request.args

    def choice(name: str, allowed: tuple[str, ...]) -> str | None:
        return args.get(name) if args.get(name) in allowed else None

    def text(name: str) -> str | None:
        return (args.get(name) or "").strip()[:100] or None

    return {**list_filters(), "state": choice("state", CALL_STATES), "kind": choice("kind", CALL_KINDS),
            "direction": choice("direction", DIRECTIONS), "extension": text("extension"),
            "speaker": text("speaker"), "min_duration": parse_seconds(args.get("longer")),
            "max_duration": parse_seconds(args.get("shorter")), "keyword": text("keyword"),
            "alerted": True if args.get("alert") == "1" else None,
            "unheard": True if args.get("unheard") == "1" else None, "week_hour": _week_hour(args.get("weekhour")),
            "ids": selected(args)}


def _week_hour(value: str | None) -> int | None:
    """An hour of the week, 0 (Monday 0:00) to 167; anything else means no filter."""
    hour = bounded_int(value)
    return hour if hour is not None and hour < 7 * 24 else None


def selected(values) -> tuple[int, ...] | None:
    """The calls ticked on the list (`id`, repeated; at most MOST_SELECTED); None for none."""
    ids = tuple(dict.fromkeys(n for n in map(bounded_int, values.getlist("id")[:MOST_SELECTED]) if n is not None))
    return ids or None


def list_order() -> dict:
    """The list's order from the query string (?sort=duration&dir=asc); newest call first else."""
    sort = request.args.get("sort")
    return {"sort": sort if sort in SORTS else "start", "descending": request.args.get("dir") != "asc"}


@bp.route("/")
def index():
    store = get_store()
    filters, order, page = call_filters(), list_order(), page_number()
    calls, total, error = [], 0, None
    try:
        total = store.calls.count(**filters)
        calls = store.calls.page(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters, **order)
    except BadQuery as exc:  # the keyword: what search would refuse, in the same words
        from appliance.web.search import query_error  # search imports this module

        error = query_error(exc)
    # The kind is which list this is (calls, voicemail, notes), not a filter to clear; the zone
    # says whose days the dates are.
    filtered = any(value is not None for name, value in filters.items() if name not in ("kind", "zone"))
    return render_template("calls.html", calls=calls, filters=filters, states=CALL_STATES, directions=DIRECTIONS,
                           kinds=CALL_KINDS, kind=filters["kind"], filtered=filtered, error=error, page=page,
                           pages=max(1, math.ceil(total / PAGE_SIZE)), total=total, **order,
                           first_direction=FIRST_DIRECTION, **_messages(filters["kind"], calls)), 400 if error else 200


def _messages(kind: str | None, calls) -> dict:
    """For the voicemail and voice-notes lists: each message's owner (the mailbox's, or the
    extension that dictated a note), its text, and which the user has not opened yet."""
    if kind not in MESSAGE_KINDS:
        return {}
    store, site = get_store(), settings()
    texts = {}
    for call in calls:
        transcript = store.transcripts.get(call.id)
        texts[call.id] = transcript.text if transcript else ""
    boxes = {call.id: (call.callee if call.kind == "voicemail" else call.caller) or "" for call in calls}
    owners = {call_id: site.mailbox(box).name or site.phones.get(box) for call_id, box in boxes.items()}
    return {"boxes": boxes, "owners": owners, "texts": texts,
            "heard": store.heard.among(int(current_user.id), [call.id for call in calls])}


def _call_or_404(call_id: int):
    try:
        return get_store().calls.get(call_id)
    except NotFound:
        abort(404)


def call_metrics(call_id: int, transcript) -> dict | None:
    """The call's conversation metrics named by its speakers' current labels (None if not yet)."""
    if transcript is None:
        return None
    return stored_public(get_store().metrics.of_calls([call_id]).get(call_id), [s.label for s in transcript.speakers])


def call_records_public(call_id: int) -> list[dict]:
    """The call's CDR rows for the API and the JSON export, times in the user's zone."""
    return [record.public(local_iso) for record in get_store().cdr.of_call(call_id)]


def vcon_json(call_id: int, inline: bool = False) -> str:
    """The call's vCon as the signed-in user may see it (404 when it has no transcript)."""
    from appliance.web.vcon import call_vcon

    try:
        return json.dumps(call_vcon(get_store(), settings(), call_id, inline), ensure_ascii=False, indent=2)
    except NotFound:
        abort(404)


@bp.route("/calls/<int:call_id>")
def show(call_id: int):
    call = _call_or_404(call_id)
    transcript = get_store().transcripts.get(call_id)
    audit("view", f"call {call_id}")
    if call.kind in MESSAGE_KINDS:
        get_store().heard.mark(int(current_user.id), call_id)
    return render_template("call.html", call=call, transcript=transcript, metrics=call_metrics(call_id, transcript),
                           unsure_below=settings().low_confidence_below, formats=EXPORT_TYPES,
                           records=get_store().cdr.of_call(call_id), dispositions=DISPOSITIONS)


@bp.route("/calls/<int:call_id>/audio")
def audio(call_id: int):
    _call_or_404(call_id)
    store = get_store()
    try:
        files = store.recordings.files(call_id)
        path = playable_file(settings(), call_id, files, store.recordings.options(call_id))
    except NotFound:
        abort(404)
    except (ApplianceError, OSError):
        abort(410)  # the recording is unreadable or gone (quarantined, erased)
    size = path.stat().st_size
    try:
        wanted = byte_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        return Response(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    served = wanted or ByteRange(0, size - 1)
    if request.method != "HEAD" and size and _listens.new_ranges(
            current_user.username, call_id, request.args.get("play"), served):
        start, end = seconds(soundfile.info(str(path)), size, served)
        key = request.args.get("play", "")[:16] or "none"
        audit("listen", f"call {call_id}",
              f"session {key}: bytes {served.start}-{served.end} of {size} ({start:.1f}-{end:.1f} s)")
    return _file_part(path, served, size, partial=wanted is not None)


def _file_part(path: Path, served: ByteRange, size: int, partial: bool) -> Response:
    """The bytes of `served`; 206 with Content-Range when a range was asked for. Under
    `appliance serve` the server sends them from its event loop (streams.send_file_later): a
    listener who reads slowly holds a socket, never a page thread."""
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(served.length if size else 0)}
    if partial:
        headers["Content-Range"] = f"bytes {served.start}-{served.end}/{size}"
    response = Response(b"", status=206 if partial else 200, mimetype="audio/wav", headers=headers)
    if size and not send_file_later(response, path, served.start, served.length):
        response.response = _chunks(path, served)
        response.direct_passthrough = True
    return response


def _chunks(path: Path, served: ByteRange):
    with path.open("rb") as file:
        file.seek(served.start)
        left = served.length
        while left > 0 and (chunk := file.read(min(left, 64 * 1024))):
            left -= len(chunk)
            yield chunk


@bp.route("/calls/<int:call_id>/export/<fmt>")
def export_call(call_id: int, fmt: str):
    if fmt not in EXPORT_TYPES:
        abort(404)
    _call_or_404(call_id)
    transcript = get_store().transcripts.get(call_id)
    if transcript is None:
        abort(404)
    transcript = local_transcript(transcript)
    inline = fmt == "vcon" and request.args.get("inline") == "1"
    audit("export", f"call {call_id}", "vcon, audio inline" if inline else fmt)
    insights = get_store().insights.of_calls([call_id]).get(call_id)  # keywords and summary ride along
    if fmt == "vcon":
        body = io.BytesIO(vcon_json(call_id, inline).encode())
    elif fmt == "docx":
        from appliance.transcript.docx import to_docx

        body = io.BytesIO(to_docx(transcript, insights))
    else:
        body = io.BytesIO(export(transcript, fmt, insights, call_metrics(call_id, transcript),
                                 call_records_public(call_id)).encode())
    return send_file(body, mimetype=EXPORT_TYPES[fmt], as_attachment=True,
                     download_name=f"call-{call_id}.{fmt}")


@bp.route("/calls/<int:call_id>/speakers/<int:index>", methods=["POST"])
def rename_speaker(call_id: int, index: int):
    label = (request.form.get("label") or "").strip()[:80]
    if not label:
        flash(_("A speaker needs a name."), "error")
    else:
        try:
            number = _party_number(call_id, index) if request.form.get("all_calls") else None
            with audited("rename-speaker", f"call {call_id}"):
                get_store().transcripts.rename_speaker(call_id, index, label)
                if request.form.get("all_calls"):
                    name_all_calls(number, label)
        except NotFound:
            abort(404)
        except NotAllowed:
            abort(403)
    return redirect(url_for("calls.show", call_id=call_id))


def _party_number(call_id: int, index: int) -> str | None:
    transcript = get_store().transcripts.get(call_id)
    return speaker_number(transcript.meta, transcript.speaker(index)) if transcript else None


def remove_call(call_id: int) -> None:
    """Delete a call, audited, then its files (LegalHold, NotFound pass on): one call, or each
    of a selection on the list."""
    with audited("delete", f"call {call_id}"):
        files = get_store().calls.delete(call_id)
    # Files go only after the rows are gone: a crash in between leaves files, never rows
    # pointing at nothing.
    for path in (*files, cache_path(settings(), call_id)):
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass  # already gone or not ours to delete; the rows are gone either way


@bp.route("/calls/<int:call_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(call_id: int):
    call = _call_or_404(call_id)
    if request.method == "GET":
        return render_template("delete.html", call=call)
    try:
        remove_call(call_id)
    except LegalHold as exc:
        flash(error_text(exc), "error")
        return redirect(url_for("calls.show", call_id=call_id))
    flash(_("The call and its recording were deleted."), "info")
    return redirect(url_for("calls.index"))

