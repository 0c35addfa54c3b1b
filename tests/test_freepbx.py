"""FreePBX's recordings: a monitor tree as FreePBX writes it is imported once per file, with the
call's parties, direction and start read from the names, and the PBX's files left untouched."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.errors import ConfigError
from appliance.jobs import freepbx
from appliance.jobs.freepbx import import_tree, parse_name
from appliance.jobs.worker import Worker

SOUNDS = "/usr/share/asterisk/sounds/en"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("stem, caller, callee, direction", [
    ("in-200-+4930123456-20261202-091502-1796199302.123", "+4930123456", "200", "inbound"),
    ("out-+4930999888-201-20261202-091502-1796199302.124", "201", "+4930999888", "outbound"),
    ("q-400-+4930123456-20261202-091502-1796199302.125", "+4930123456", "400", "inbound"),
    ("rg-600-030123456-20261202-091502-1796199302.126", "030123456", "600", "inbound"),
    ("exten-201-202-20261202-091502-1796199302.127", "202", "201", "internal"),
    ("internal-201-202-20261202-091502-1796199302.128", "202", "201", "internal"),
    ("external-+4930777-201-20261202-091502-1796199302.129", "201", "+4930777", "inbound"),
    ("in-200--20261202-091502-1796199302.130", None, "200", "inbound"),  # caller id withheld
    ("ondemand-201-202-20261202-091502-1796199302.131", "202", "201", None),
])
def test_a_freepbx_name_gives_the_calls_parties_and_direction(stem, caller, callee, direction):
    meta = parse_name(stem, BERLIN)
    assert (meta.caller, meta.callee, meta.direction) == (caller, callee, direction)
    assert meta.uniqueid == stem.rsplit("-", 1)[1]
    # 09:15:02 in Berlin in December is 08:15:02 UTC; the uniqueid's epoch agrees and wins.
    assert meta.started_at == "2026-12-02T08:15:02+00:00"


def test_the_names_local_time_counts_when_the_uniqueid_is_no_epoch():
    meta = parse_name("in-200-+4930123456-20260715-101500-42.7", BERLIN)
    assert meta.started_at == "2026-07-15T08:15:00+00:00"  # summer time: UTC+2


@pytest.mark.parametrize("stem", ["vm-intro", "in-200-20261202-091502-1.2", "in-200-x-20261340-091502-1.2",
                                  "in-200-x-20261202-091502-abc", "../in-200-x-20261202-091502-1.2"])
def test_other_names_are_not_taken_for_freepbx_ones(stem):
    assert parse_name(stem) is None


def _recording(tree, day: date, stem: str, sound: str, age: float = 60.0):
    folder = tree / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.wav"
    shutil.copyfile(f"{SOUNDS}/{sound}.wav", path)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


@pytest.fixture
def tree(tmp_path):
    return tmp_path / "monitor"


def test_each_finished_recording_is_imported_once_and_the_pbx_tree_is_left_as_it_was(tree, make_settings, store):
    settings = make_settings(freepbx_monitor_dir=tree, freepbx_timezone="Europe/Berlin")
    today = date.today()
    inbound = _recording(tree, today, "in-200-+4930123456-20261202-091502-1796199302.1", "vm-intro")
    outbound = _recording(tree, today, "out-+4930999888-201-20261202-091502-1796199302.2", "tt-weasels")
    odd = _recording(tree, today, "meeting-notes", "conf-getchannel")
    growing = _recording(tree, today, "in-200-+4930555-20261202-091502-1796199302.3", "vm-intro", age=0)
    old = _recording(tree, date(2020, 1, 1), "in-200-+4930444-20200101-091502-1577866502.1", "vm-intro")
    before = {path: path.read_bytes() for path in tree.rglob("*.wav")}

    queued = import_tree(store, settings)
    calls = {call.uniqueid: call for call in store.calls.page()}
    assert len(queued) == 3 and set(calls) == {"1796199302.1", "1796199302.2", "freepbx-meeting-notes"}
    assert (calls["1796199302.1"].caller, calls["1796199302.1"].callee, calls["1796199302.1"].direction) == (
        "+4930123456", "200", "inbound")
    assert calls["1796199302.2"].direction == "outbound" and calls["1796199302.2"].caller == "201"
    # The queued files are copies in the appliance's own folder; the PBX's files are unchanged.
    for call in calls.values():
        (path,) = store.recordings.files(call.id)
        assert str(path).startswith(str(settings.data_dir / "imports" / "freepbx"))
    assert {path: path.read_bytes() for path in tree.rglob("*.wav")} == before
    assert inbound.exists() and outbound.exists() and odd.exists()

    assert import_tree(store, settings) == []  # nothing twice
    then = time.time() - 60
    os.utime(growing, (then, then))
    assert len(import_tree(store, settings)) == 1  # the file being written, once it settled
    assert len(import_tree(store, settings, since=date(2019, 1, 1))) == 1  # the old one when asked
    assert old.exists()


def test_a_call_deleted_here_is_not_imported_again(tree, make_settings, store):
    settings = make_settings(freepbx_monitor_dir=tree)
    _recording(tree, date.today(), "in-200-+4930123456-20261202-091502-1796199302.1", "vm-intro")
    (call_id,) = import_tree(store, settings)
    store.calls.delete(call_id)
    assert import_tree(store, settings) == [] and store.calls.page() == []


def test_an_imported_recording_is_transcribed_with_its_words(tree, make_settings, store, engine):
    settings = make_settings(freepbx_monitor_dir=tree)
    _recording(tree, date.today(), "in-200-+4930123456-20261202-091502-1796199302.1", "vm-intro")
    (call_id,) = import_tree(store, settings)
    assert Worker(settings, store, engine).run_once()
    text = store.transcripts.get(call_id).text.lower()
    assert "message" in text and "pound" in text, text


def test_an_unknown_time_zone_is_refused_at_start(make_settings):
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        make_settings(freepbx_timezone="Mars/Olympus")


@pytest.mark.parametrize("setting, environ", [({"timezone": "Europe/Berlin"}, {}), ({}, {"TZ": "Europe/Berlin"})])
def test_a_summer_name_imported_in_winter_gets_summer_time_in_the_sites_zone(
        tree, make_settings, store, monkeypatch, setting, environ):
    # The site's zone (or the box's own, from TZ), with its rules: not December's +01:00.
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    settings = make_settings(freepbx_monitor_dir=tree, **setting)
    _recording(tree, date.today(), "in-200-+4930123456-20260715-101500-42.7", "vm-intro")
    (call_id,) = import_tree(store, settings)
    assert store.calls.get(call_id).started_at == "2026-07-15T08:15:00+00:00"


def test_the_command_imports_the_tree(tree, make_settings, store):
    from click.testing import CliRunner

    from appliance.cli import cli

    settings = make_settings()
    _recording(tree, date(2024, 3, 1), "in-200-+4930123456-20240301-091502-1709280902.5", "vm-intro")
    env = {"APPLIANCE_CONFIG": "/dev/null", "APPLIANCE_DATA_DIR": str(settings.data_dir),
           "APPLIANCE_FREEPBX_MONITOR_DIR": str(tree)}
    done = CliRunner().invoke(cli, ["import-freepbx", "--since", "2024-01-01"], env=env)
    assert done.exit_code == 0 and "1 recording(s) queued" in done.output, done.output
    assert [call.uniqueid for call in store.calls.page()] == ["1709280902.5"]
    missing = CliRunner().invoke(cli, ["import-freepbx"], env={**env, "APPLIANCE_FREEPBX_MONITOR_DIR": str(tree / "x")})
    assert missing.exit_code == 1 and "freepbx_monitor_dir" in str(missing.exception)


def test_hostile_file_names_are_imported_or_left_safely(tree, make_settings, store, caplog):
    settings = make_settings(freepbx_monitor_dir=tree)
    today = date.today()
    normal = _recording(tree, today, "in-200-+4930123456-20261202-091502-1796199302.1", "vm-intro")
    hostile = [_recording(tree, today, stem, "vm-intro") for stem in (
        "in-201-+49 30 123-20261202-091502-1796199302.2",  # a space
        "in-201-+4930\nline-20261202-091502-1796199302.3",  # a newline
        "-e sh x", "--delete")]  # options, were they arguments
    # Not UTF-8: the store cannot keep its name, so the file stays in the tree, unnamed in the log.
    foreign = os.fsencode(normal.parent) + b"/in-200-+4930777666-\xff-20261202-091502-1733130902.123.wav"
    shutil.copyfile(normal, foreign)
    # A link that leads out of the tree: not the PBX's recording to take.
    outside = tree.parent / "elsewhere.wav"
    shutil.copyfile(normal, outside)
    (normal.parent / "in-200-+4930555444-20261202-091502-1796199302.9.wav").symlink_to(outside)
    for path in (foreign, outside):
        os.utime(path, (time.time() - 60, time.time() - 60))

    with caplog.at_level("INFO", logger="appliance.jobs.freepbx"):
        queued = import_tree(store, settings)
    assert len(queued) == 1 + len(hostile)
    calls = {call.uniqueid: call for call in store.calls.page()}
    assert calls["1796199302.1"].caller == "+4930123456"
    assert calls["1796199302.2"].caller == "+49 30 123"
    copies = [Path(file) for call in calls.values() for file in store.recordings.files(call.id)]
    assert sorted(copy.name for copy in copies) == sorted(path.name for path in (normal, *hostile))
    assert all(copy.read_bytes() == normal.read_bytes() for copy in copies)
    assert "2 file(s)" in caplog.text and "4930777666" not in caplog.text and "4930555444" not in caplog.text
    assert not any(b"\xff" in os.fsencode(path) for path in (settings.data_dir / "imports").rglob("*"))
    assert import_tree(store, settings) == []  # nothing twice, the foreign name left alone again
    assert os.path.exists(foreign)


def test_a_recording_freepbx_removes_during_the_scan_is_passed_over(tree, make_settings, store, monkeypatch):
    # FreePBX's own clean-up (or an admin) deletes a file after the scan listed it: the scan
    # takes the others and leaves no half copy; it used to end there with FileNotFoundError.
    settings = make_settings(freepbx_monitor_dir=tree)
    today = date.today()
    gone = _recording(tree, today, "in-200-+4930123456-20261202-091502-1796199302.1", "vm-intro")
    kept = _recording(tree, today, "in-200-+4930123456-20261202-091602-1796199362.2", "vm-intro")
    copy = freepbx.atomic_copy

    def deleted_first(source, target):
        if source.name == gone.name:
            source.unlink()
        return copy(source, target)

    monkeypatch.setattr(freepbx, "atomic_copy", deleted_first)
    queued = import_tree(store, settings)
    assert [call.uniqueid for call in store.calls.page()] == ["1796199362.2"] and len(queued) == 1
    imported = [path.name for path in (settings.data_dir / "imports").rglob("*") if path.is_file()]
    assert imported == [kept.name]
