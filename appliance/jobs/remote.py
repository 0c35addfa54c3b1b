"""A remote transcription worker: takes tickets from the broker, fetches each job's recording
from the box, transcribes it and posts the result back (`appliance worker --remote`).

The machine needs only the models and two addresses, the broker's and the box's: no database,
no spool. Audio lives here only while its job runs, in a private folder in RAM where there is
one (/dev/shm), deleted after the job, and by the next start after a kill. Logs name jobs and
sizes, never a transcript's words or a call's numbers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.jobs.contract import JobResult, JobTicket
from appliance.pipeline import transcribe_recording
from appliance.stt import SpeechToText, engine_for

log = logging.getLogger(__name__)

SCRATCH_PREFIX = "appliance-job-"
# The box restarting or briefly away: a finished result is offered again for this long.
RESULT_RETRY_SECONDS = 600.0
# A ticket this worker cannot work on (box unreachable) goes back to the broker after this
# pause, so that the worker does not take it again at once.
BOX_AWAY_PAUSE_SECONDS = 5.0
# The box's answers that mean "this ticket is not (any more) this job's": drop it.
SUPERSEDED = {401, 403, 409, 410}
# Never through a proxy: the box is on the LAN.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BoxAway(Exception):
    """The box could not be reached, or failed; the ticket may work later or elsewhere."""


class Superseded(Exception):
    """The box refused the ticket: the job is done, deleted or handed to someone else."""


def scratch_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(root: Path) -> int:
    """Delete the audio folders that killed workers left behind (named SCRATCH_PREFIX, their
    pid, the job); another worker's running on this machine stay."""
    count = 0
    for folder in root.glob(SCRATCH_PREFIX + "*"):
        pid = folder.name[len(SCRATCH_PREFIX):].partition("-")[0]
        if folder.is_dir() and folder.stat().st_uid == os.getuid() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            count += 1
    return count


class Box:
    """The box's /worker endpoint for one ticket."""

    def __init__(self, box_url: str, ticket: JobTicket, timeout: float = 30.0) -> None:
        self.base = f"{box_url.rstrip('/')}/worker/jobs/{ticket.job_id}"
        self.headers = {"Authorization": f"Bearer {ticket.token}"}
        self.timeout = timeout

    def _open(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        headers = self.headers if data is None else {**self.headers, "Content-Type": "application/json"}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            return _opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in SUPERSEDED:
                raise Superseded(f"the box answered {exc.code}") from None
            raise BoxAway(f"the box answered {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise BoxAway(str(getattr(exc, "reason", exc))) from None

    def post(self, path: str, body: dict) -> dict:
        with self._open("POST", path, body) as response:
            return json.loads(response.read() or b"{}")

    def fetch(self, index: int, target: Path) -> None:
        with self._open("GET", f"/files/{index}") as response, target.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)


class _Progress(threading.Thread):
    """Reports progress every heartbeat_seconds while the job runs: each report renews the
    lease; a refusal means the job went elsewhere (its result will then count only once)."""

    def __init__(self, box: Box, every: float, identity: dict) -> None:
        super().__init__(daemon=True, name="progress")
        self.box, self.every, self.identity = box, every, identity
        self.fraction = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            try:
                self.box.post("/progress", {"progress": self.fraction, **self.identity})
            except Superseded:
                log.warning("the box took the job back; finishing it anyway")
                return
            except BoxAway as exc:
                log.warning("progress report failed (%s)", exc)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class RemoteWorker:
    def __init__(self, settings: Settings, box_url: str, engine: SpeechToText | None = None) -> None:
        self.settings, self.box_url = settings, box_url
        self.engine = engine or engine_for(settings)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.identity = {"worker": self.name, "model": self.engine.model,
                         "device": getattr(self.engine, "device", "cpu")}
        self.scratch = scratch_root()
        # The job in hand, for the announcements (appliance/jobs/presence.py).
        self.job_id: int | None = None

    def presence(self) -> dict:
        return {**self.identity, "job": self.job_id}

    def run(self, ticket: JobTicket) -> str:
        """Work one ticket: "stored", "duplicate", "deleted", "failed" (reported to the box) or
        "superseded" (not this ticket's job any more). Raises BoxAway."""
        self.job_id = ticket.job_id
        try:
            return self._run(ticket)
        finally:
            self.job_id = None

    def _run(self, ticket: JobTicket) -> str:
        box = Box(self.box_url, ticket)
        try:
            box.post("/progress", {"progress": 0.0, **self.identity})
            started = time.monotonic()
            with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-{ticket.job_id}-", dir=self.scratch) as folder:
                paths = [Path(folder) / f"{index}{Path(name).suffix}" for index, name in enumerate(ticket.files)]
                for index, path in enumerate(paths):
                    box.fetch(index, path)
                outcome = self._transcribe(box, ticket, paths)
            if isinstance(outcome, str):
                return outcome
            result = JobResult(job_id=ticket.job_id, transcript=outcome, worker=self.name,
                               device=self.identity["device"], seconds=time.monotonic() - started)
            return self._deliver(box, result)
        except Superseded as exc:
            log.info("job %d: dropped, %s", ticket.job_id, exc)
            return "superseded"

    def _transcribe(self, box: Box, ticket: JobTicket, paths: list[Path]):
        """The transcript, or "failed" once the failure is reported to the box."""
        progress = _Progress(box, ticket.heartbeat_seconds, self.identity)
        progress.start()
        try:
            return transcribe_recording(
                paths, ticket.meta, self.settings, self.engine, options=ticket.options,
                hotwords=ticket.hotwords, on_progress=lambda fraction: setattr(progress, "fraction", fraction),
            )
        except ApplianceError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a bug goes to the box with the job, not into a crash loop
            log.exception("job %d: internal error", ticket.job_id)
            error = ApplianceError(f"internal error on worker {self.name} ({type(exc).__name__}); the job will be"
                                   " retried", "remote-internal-error", worker=self.name, error=type(exc).__name__)
        finally:
            progress.stop()
        log.warning("job %d: failed on this worker", ticket.job_id)
        # The case travels with the English text, so the box's pages can say it in German.
        box.post("/failure", {"reason": str(error), "permanent": error.permanent, "code": error.code,
                              "values": error.values})
        return "failed"

    def _deliver(self, box: Box, result: JobResult) -> str:
        deadline = time.monotonic() + RESULT_RETRY_SECONDS
        while True:
            try:
                state = box.post("/result", result.to_dict())["state"]
            except BoxAway as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("job %d: the box did not take the result (%s); trying again", result.job_id, exc)
                time.sleep(BOX_AWAY_PAUSE_SECONDS)
                continue
            except Superseded:
                return "deleted"
            log.info("job %d: %.1f s of audio in %.1f s: %s", result.job_id, result.transcript.duration,
                     result.seconds, state)
            return state


def serve(settings: Settings, broker_url: str, box_url: str) -> None:
    """Consume tickets from the broker until stopped (SIGTERM finishes the job in hand)."""
    from celery.exceptions import Reject

    from appliance.jobs.broker import TASK, celery_app
    from appliance.jobs.presence import announce

    removed = remove_leftovers(scratch_root())
    if removed:
        log.warning("removed the audio of %d job(s) an earlier run left behind", removed)
    app = celery_app(broker_url)
    worker = RemoteWorker(settings, box_url)

    @app.task(name=TASK)
    def transcribe(ticket: dict) -> None:
        try:
            parsed = JobTicket.from_dict(ticket)
        except (TypeError, KeyError, ValueError, AttributeError):
            log.error("dropped a ticket that is not one")
            return
        try:
            worker.run(parsed)
        except BoxAway as exc:
            log.warning("job %d: the box cannot be reached (%s); the ticket goes back to the broker",
                        parsed.job_id, exc)
            time.sleep(BOX_AWAY_PAUSE_SECONDS)
            raise Reject(str(exc), requeue=True) from None

    log.info("worker %s: %s on %s, box %s", worker.name, worker.identity["model"], worker.identity["device"], box_url)
    hostname = f"appliance@{worker.name}"
    announce(app, hostname, worker.presence, settings.worker_heartbeat_seconds)
    app.Worker(
        hostname=hostname, pool_cls="threads", concurrency=1, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    ).start()
