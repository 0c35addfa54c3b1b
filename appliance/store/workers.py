"""Remote transcription workers as the box knows them: from their progress reports and the
results it stored (appliance/jobs/dispatch.py). Nothing here is trusted for access: the
per-job token is; these rows only tell the admin who works how fast."""

from __future__ import annotations

import time

from appliance.store.concern import Concern
from appliance.store.db import write
from appliance.store.records import RemoteWorker


class RemoteWorkers(Concern):
    def seen(self, name: str, model: str, device: str, job_id: int) -> None:
        with write(self._db):
            self._db.execute(
                "INSERT INTO remote_workers (name, model, device, job_id, last_seen) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET model = excluded.model, device = excluded.device,"
                " job_id = excluded.job_id, last_seen = excluded.last_seen",
                [name, model, device, job_id, time.time()],
            )

    def finished(self, name: str, model: str, device: str, audio_seconds: float, busy_seconds: float) -> None:
        with write(self._db):
            self._db.execute(
                "INSERT INTO remote_workers (name, model, device, jobs_done, audio_seconds, busy_seconds, last_seen)"
                " VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET model = excluded.model,"
                " device = excluded.device, job_id = NULL, jobs_done = jobs_done + 1,"
                " audio_seconds = audio_seconds + excluded.audio_seconds,"
                " busy_seconds = busy_seconds + excluded.busy_seconds, last_seen = excluded.last_seen",
                [name, model, device, audio_seconds, busy_seconds, time.time()],
            )

    def all(self) -> list[RemoteWorker]:
        """Most recently seen first."""
        return [RemoteWorker(**row) for row in self._db.query("SELECT * FROM remote_workers ORDER BY last_seen DESC")]
