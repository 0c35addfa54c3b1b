"""The stages after a commit (appliance/jobs/stages.py): a failing one never fails the job."""

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from appliance.jobs import stages


def _broken(store, settings):
    raise RuntimeError("the keyword model is missing")


def test_a_failing_stage_is_logged_and_the_next_one_still_runs(store, settings, caplog, monkeypatch):
    ran = []
    monkeypatch.setattr(stages, "STAGES", (("nlp", _broken), ("metrics", lambda s, _settings: ran.append(s))))
    with caplog.at_level(logging.ERROR, logger="appliance.jobs.stages"):
        stages.run_after_commit(store, settings)  # raises nothing
    assert ran == [store]
    assert "nlp: stage failed" in caplog.text and "the keyword model is missing" in caplog.text


def test_each_stage_has_its_safety_net_run_in_the_scheduler(store, settings, monkeypatch):
    ran = []
    monkeypatch.setattr(stages, "STAGES", (("nlp", _broken), ("metrics", lambda s, _settings: ran.append(s))))
    scheduler = BackgroundScheduler()
    stages.add_scheduler_jobs(scheduler, settings, lambda _settings, task: lambda: task(store), {})
    assert [job.id for job in scheduler.get_jobs()] == ["nlp", "metrics"]
    for job in scheduler.get_jobs():
        job.func()  # the broken stage is caught, as in the worker
    assert ran == [store]
