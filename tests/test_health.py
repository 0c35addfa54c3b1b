"""/healthz for monitoring (open, no data), the admin's status page, and the disk guard: a
warning on every admin page, a mail, and a worker that waits instead of writing into a full disk."""

import json

import pytest
from click.testing import CliRunner

from appliance.jobs.worker import Worker
from appliance.ops import health
from appliance.ops.schedule import add_ops_jobs
from appliance.transcript.model import CallMeta
from support.web import login, make_app, write_wav, VIEWER_PASSWORD

HUGE_MB = 1 << 40  # more free space than any disk has


@pytest.fixture
def queued(store, settings):
    folder = settings.data_dir / "recordings"
    folder.mkdir(parents=True)
    return [store.intake.enqueue(CallMeta(uniqueid=f"q{n}", caller="+49 30 1234 5678"),
                                    [write_wav(folder / f"q{n}.wav")]) for n in range(2)]


def test_healthz_needs_no_login_and_carries_no_data(client, store, queued):
    response = client.get("/healthz")

    body = response.get_json()
    assert set(body) == {"ok", "services", "queue_depth", "oldest_queued_seconds", "disk_free_bytes",
                         "disk_min_free_bytes", "disk_low"}
    assert body["queue_depth"] == 2 and body["oldest_queued_seconds"] >= 0
    assert body["services"]["database"] is True
    assert body["services"]["worker"] is False  # no worker has shown a sign of life
    assert body["disk_free_bytes"] > 0 and body["disk_low"] is False
    assert response.status_code == 503 and body["ok"] is False
    assert "1234" not in response.get_data(as_text=True)


def test_a_running_worker_shows_up_in_healthz(client, store, settings):
    from apscheduler.schedulers.background import BackgroundScheduler

    from appliance.jobs.scheduler import _with_store

    scheduler = BackgroundScheduler(daemon=True)
    add_ops_jobs(scheduler, settings, _with_store, {"coalesce": True, "max_instances": 1})
    scheduler.start()
    try:
        from support.processes import wait_for

        wait_for(lambda: client.get("/healthz").get_json()["services"]["worker"], "the worker's sign of life")
    finally:
        scheduler.shutdown(wait=True)


def test_the_status_page_is_for_admins(admin_client, viewer_client, store, queued):
    page = admin_client.get("/admin/status").get_data(as_text=True)
    assert 'data-service="worker"' in page and 'data-service="database"' in page
    assert '<td data-queue>2</td>' in page
    assert viewer_client.get("/admin/status").status_code == 403


def test_low_disk_warns_the_admin_in_the_ui_and_by_mail_once_a_day(make_settings, store, admin_user, viewer_user,
                                                                    smtp_sink):
    handler, relay = smtp_sink
    before = len(handler.messages)
    settings = make_settings(disk_min_free_mb=HUGE_MB, admin_email="it@office.example", mail_relay=relay)
    app = make_app(settings)
    admin, viewer = app.test_client(), app.test_client()
    from support.web import ADMIN_PASSWORD

    login(admin, "ada", ADMIN_PASSWORD)
    login(viewer, "vic", VIEWER_PASSWORD)

    assert "data-disk-warning" in admin.get("/").get_data(as_text=True)
    assert "data-disk-warning" not in viewer.get("/").get_data(as_text=True)
    assert admin.get("/healthz").get_json()["disk_low"] is True

    health.check_disk(store, settings, now=1000.0)
    health.check_disk(store, settings, now=2000.0)  # the same day: no second mail
    (mail,) = handler.messages[before:]
    assert mail["To"] == "it@office.example" and "disk" in mail["Subject"].lower()
    assert "MB" in mail.get_content()
    health.check_disk(store, settings, now=1000.0 + health.DISK_MAIL_EVERY + 1)
    assert len(handler.messages) == before + 2
    assert len(store.audit.entries(action="disk-low")) == 2

    # Space back: the warning is forgotten, so the next shortage mails at once.
    health.check_disk(store, make_settings(disk_min_free_mb=0))
    assert store.ops.state(health.DISK_MAIL) is None and store.audit.entries(action="disk-ok")


@pytest.mark.model
def test_the_worker_waits_with_a_full_disk_and_goes_on_when_space_is_back(make_settings, store, queued, engine):
    full = Worker(make_settings(disk_min_free_mb=HUGE_MB), store, engine)

    assert full.run_once() is False and full.paused
    assert store.jobs.queue_stats()["queued"] == 2  # nothing claimed, nothing half-written

    ok = Worker(make_settings(), store, engine)
    assert ok.run_once() is True and not ok.paused
    assert store.jobs.get(queued[0].job_id).state in ("done", "quarantined", "queued")
    assert store.jobs.get(queued[0].job_id).attempts == 1


def test_the_command_line_prints_health_and_fails_when_unwell(settings, store, queued):
    from appliance.cli import cli

    result = CliRunner().invoke(cli, ["health"], env={"APPLIANCE_CONFIG": "/dev/null",
                                                      "APPLIANCE_DATA_DIR": str(settings.data_dir),
                                                      "APPLIANCE_DISK_MIN_FREE_MB": str(HUGE_MB)})
    assert result.exit_code == 1
    assert json.loads(result.output)["disk_low"] is True


def test_with_a_full_disk_nothing_new_is_copied_in(make_settings, store, tmp_path):
    from appliance.jobs.voicemail import scan_mailboxes
    from appliance.cli import cli

    settings = make_settings(disk_min_free_mb=HUGE_MB, voicemail_dir=tmp_path / "vm", spool_settle_seconds=0)
    inbox = settings.voicemail_dir / "default" / "100" / "INBOX"
    inbox.mkdir(parents=True)
    (inbox / "msg0000.txt").write_text("[message]\ncallerid=<+4930555>\norigtime=1700000000\nmsg_id=1-1\n")
    write_wav(inbox / "msg0000.wav")

    assert scan_mailboxes(store, settings) == []  # the message waits in Asterisk's mailbox
    assert scan_mailboxes(store, make_settings(voicemail_dir=tmp_path / "vm", spool_settle_seconds=0))
    refused = CliRunner().invoke(cli, ["ingest", str(inbox / "msg0000.wav")],
                                 env={"APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(settings.data_dir),
                                      "APPLIANCE_DISK_MIN_FREE_MB": str(HUGE_MB)})
    assert refused.exit_code != 0 and "disk space" in str(refused.exception)
    assert len(store.calls.page()) == 1


def test_the_status_page_and_disk_warning_speak_german(make_settings, store):
    from support.web import ADMIN_PASSWORD, hashed

    store.users.add("greta", hashed(ADMIN_PASSWORD), "admin", "de")
    client = make_app(make_settings(disk_min_free_mb=HUGE_MB)).test_client()
    login(client, "greta", ADMIN_PASSWORD)
    page = client.get("/admin/status").get_data(as_text=True)
    assert "Speicher fast voll" in page and "Letzte Sicherung" in page and "Löschung auf Antrag" in page
