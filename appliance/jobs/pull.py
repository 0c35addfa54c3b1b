"""The pull mode: the box fetches a PBX's recording tree over ssh (rsync), for sites that prefer
the box to fetch rather than the PBX to upload (appliance/jobs/upload.py).

rsync only reads on the PBX (it never deletes or writes there; docs/remote-asterisk.md shows how
to pin the key to a read-only rsync). It mirrors the tree into `data_dir/pull/monitor/`, keeping
the files' times, so only new or grown files travel; the mirror is then imported like a FreePBX
tree on this box (appliance/jobs/freepbx.py): a file still being written on the PBX has a fresh
time and waits for `spool_settle_seconds`, so only complete recordings are queued, each once.
The host key is checked against `pbx_pull_known_hosts`: never accepted blindly.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import subprocess

from appliance.config import Settings
from appliance.errors import ApplianceError, ConfigError
from appliance.jobs.freepbx import import_tree
from appliance.store import Store

log = logging.getLogger(__name__)

PULL_TIMEOUT_SECONDS = 3600  # a first pull of a large tree takes a while; a hung one does not stay


def pull(store: Store, settings: Settings) -> list[int]:
    """Fetch what is new on the PBX and queue its complete recordings; the ids of the calls queued."""
    if not settings.pbx_pull_from:
        raise ConfigError("set pbx_pull_from to the PBX's recording folder (user@host:/var/spool/asterisk/monitor)")
    for name in ("pbx_pull_key", "pbx_pull_known_hosts"):
        if getattr(settings, name) is None or not getattr(settings, name).is_file():
            raise ConfigError(f"setting {name!r}: no such file ({getattr(settings, name)})")
    mirror = settings.data_dir / "pull" / "monitor"
    mirror.mkdir(parents=True, exist_ok=True)
    ssh = ["ssh", "-i", str(settings.pbx_pull_key), "-p", str(settings.pbx_pull_port), "-o", "BatchMode=yes",
           "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
           "-o", f"UserKnownHostsFile={settings.pbx_pull_known_hosts}", "-o", "ConnectTimeout=20"]
    command = ["rsync", "--recursive", "--times", "--chmod=D700,F600", "--timeout=120", "-e", shlex.join(ssh),
               settings.pbx_pull_from.rstrip("/") + "/", f"{mirror}/"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PULL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise ApplianceError(f"the pull from {settings.pbx_pull_from} took over {PULL_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        # ssh's last words ("Host key verification failed."), not rsync's "connection unexpectedly closed" after them or a banner of @s.
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith(("rsync", "@"))]
        reason = (lines or done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ApplianceError(f"the pull from {settings.pbx_pull_from} failed: {reason}")
    queued = import_tree(store, dataclasses.replace(settings, freepbx_monitor_dir=mirror))
    if queued:
        log.info("pull: %d recording(s) queued", len(queued))
    return queued
