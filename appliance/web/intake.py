"""The LAN endpoint a PBX on another machine uploads its recordings to (appliance/jobs/upload.py).

No login and no cookies: each PBX has its own token (`appliance pbx add NAME`), sent as
`Authorization: Bearer`. The server has written the body to a file before this view runs
(appliance/web/server.py); the view checks and queues it. Answers are JSON for the shell hook.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from appliance.jobs.upload import Upload, UploadRefused, receive, source_of
from appliance.web import open_store, settings
from appliance.web.auth import csrf

INTAKE_PATH = "/intake/"
BODY_FILE_KEY = "appliance.body_file"  # where the server puts the received Body in the ASGI scope
bp = Blueprint("intake", __name__, url_prefix=INTAKE_PATH.rstrip("/"))
csrf.exempt(bp)  # no cookies: the token is the credential


@bp.put("/recordings/<file_name>")
def upload_recording(file_name: str):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    source = source_of(open_store(), token.strip()) if scheme.lower() == "bearer" else None
    if source is None:
        return jsonify(error="this PBX's token is unknown or revoked (appliance pbx add)"), 401
    body = request.environ.get("asgi.scope", {}).get(BODY_FILE_KEY)
    if body is None:
        return jsonify(error="uploads go through `appliance serve`"), 400
    upload = Upload(file_name, request.content_length, request.headers.get("X-Content-SHA256", "").strip().lower(),
                    uniqueid=request.args.get("uniqueid") or None, caller=request.args.get("caller") or None,
                    callee=request.args.get("callee") or None)
    try:
        received = receive(open_store(), settings(), source, upload, body)
    except UploadRefused as refused:
        return jsonify(error=str(refused)), refused.status
    return jsonify(state=received.state, call_id=received.call_id), 201 if received.state == "queued" else 200
