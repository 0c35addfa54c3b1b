"""The box's side of remote transcription: tickets, the /worker endpoint, results stored once."""

import pytest

from appliance.jobs.contract import JobResult, JobTicket, sign, worker_secret
from appliance.jobs.dispatch import hand_out
from appliance.transcript.model import CallMeta, Speaker, Transcript, Turn, Word
from support.web import write_wav

META = CallMeta(uniqueid="7.1", caller="+4930555", callee="201", direction="inbound")


def _transcript(text: str = "Hello there.") -> Transcript:
    return Transcript(
        language="en", engine="faster-whisper", model="whisper-base", duration=1.0,
        speakers=(Speaker(0, "Caller", "caller"),),
        turns=(Turn(0, 0.0, 1.0, text, (Word(0.0, 1.0, text, 0.9),)),), meta=META,
    )


def _auth(ticket: JobTicket) -> dict:
    return {"Authorization": f"Bearer {ticket.token}"}


@pytest.fixture
def recording(store, tmp_path):
    path = write_wav(tmp_path / "7.1.wav")
    return store.intake.enqueue(META, [path], {"language": "en"}), path


@pytest.fixture
def ticket(store, settings, recording):
    ticket = hand_out(store, settings)
    assert ticket is not None
    return ticket


def _post_result(client, ticket, text="Hello there.", job_id=None):
    result = JobResult(job_id=job_id or ticket.job_id, transcript=_transcript(text), worker="w1", seconds=0.5)
    return client.post(f"/worker/jobs/{ticket.job_id}/result", json=result.to_dict(), headers=_auth(ticket))


def test_a_ticket_round_trips_and_carries_names_not_paths(ticket, recording):
    result, path = recording
    assert ticket.files == ("7.1.wav",) and ticket.meta == META
    # The site's decode defaults travel with the job: a worker decodes as the box would.
    assert ticket.options == {"language": "en", "sample_rate": 8000, "channels": 2}
    assert JobTicket.from_dict(ticket.to_dict()) == ticket
    assert str(path.parent) not in repr(ticket.to_dict())


def test_the_holder_of_a_job_fetches_its_recording(client, ticket, recording):
    with client.get(f"/worker/jobs/{ticket.job_id}/files/0", headers=_auth(ticket)) as response:
        assert response.status_code == 200 and response.data == recording[1].read_bytes()
    assert client.get(f"/worker/jobs/{ticket.job_id}/files/1", headers=_auth(ticket)).status_code == 404


def test_no_token_a_forged_one_or_another_jobs_token_gets_no_audio(client, store, settings, ticket, tmp_path):
    other = store.intake.enqueue(CallMeta(uniqueid="8.1"), [write_wav(tmp_path / "8.1.wav")])
    url = f"/worker/jobs/{other.job_id}/files/0"
    holder = ticket.token.rpartition(".")[0]
    for headers in ({}, {"Authorization": "Bearer nonsense"}, _auth(ticket),
                    {"Authorization": f"Bearer {sign(b'another site', other.job_id, holder)}"}):
        response = client.get(url, headers=headers)
        assert response.status_code == 401 and response.is_json
    # Not even a progress report or a result for a job the token was not issued for.
    assert client.post(f"/worker/jobs/{other.job_id}/progress", json={"progress": 0.5},
                       headers=_auth(ticket)).status_code == 401
    assert store.jobs.get(other.job_id).state == "queued"


def test_a_token_opens_the_audio_only_while_its_holder_owns_the_job(client, store, settings, ticket):
    # The holder went silent: its lease ran out and the job went to another worker.
    assert store.jobs.recover_stale_leases(now=store.jobs.get(ticket.job_id).lease_expires + 1) == 1
    again = hand_out(store, settings)
    assert again.job_id == ticket.job_id and again.token != ticket.token
    assert client.get(f"/worker/jobs/{ticket.job_id}/files/0", headers=_auth(ticket)).status_code == 403
    assert client.post(f"/worker/jobs/{ticket.job_id}/progress", json={"progress": 0.5},
                       headers=_auth(ticket)).status_code == 409
    with client.get(f"/worker/jobs/{ticket.job_id}/files/0", headers=_auth(again)) as response:
        assert response.status_code == 200


def test_progress_renews_the_holders_lease(client, store, ticket):
    before = store.jobs.get(ticket.job_id).lease_expires
    response = client.post(f"/worker/jobs/{ticket.job_id}/progress", json={"progress": 0.25}, headers=_auth(ticket))
    assert response.status_code == 200
    job = store.jobs.get(ticket.job_id)
    assert job.progress == 0.25 and job.lease_expires >= before


def test_a_result_is_stored_once_however_often_it_arrives(client, store, settings, ticket, recording):
    response = _post_result(client, ticket)
    assert (response.status_code, response.json) == (200, {"state": "stored"})
    # Redelivered (the broker lost the ack) or sent by a second holder after a lease ran out.
    assert _post_result(client, ticket, "Something else.").json == {"state": "duplicate"}
    assert store.transcripts.count(recording[0].recording_id) == 1
    assert store.transcripts.get(recording[0].call_id).turns[0].text == "Hello there."
    assert store.jobs.get(ticket.job_id).state == "done"


def test_a_result_from_a_holder_whose_lease_ran_out_still_counts_once(client, store, settings, ticket, recording):
    store.jobs.recover_stale_leases(now=store.jobs.get(ticket.job_id).lease_expires + 1)
    again = hand_out(store, settings)
    assert _post_result(client, ticket).json == {"state": "stored"}
    assert _post_result(client, again).json == {"state": "duplicate"}
    assert store.transcripts.count(recording[0].recording_id) == 1


def test_a_result_for_a_deleted_call_is_gone_not_an_error(client, store, ticket, recording):
    store.calls.delete(recording[0].call_id)
    assert _post_result(client, ticket).status_code == 410


@pytest.mark.parametrize("body", [None, [], {"job_id": 1}, {"transcript": "x"}, {"job_id": "a", "transcript": {}}])
def test_a_malformed_result_is_a_readable_400(client, store, ticket, body):
    response = client.post(f"/worker/jobs/{ticket.job_id}/result", json=body, headers=_auth(ticket))
    assert response.status_code == 400 and "error" in response.json
    assert store.jobs.get(ticket.job_id).state == "running"


def test_a_result_for_another_job_under_this_token_is_refused(client, ticket):
    assert _post_result(client, ticket, job_id=ticket.job_id + 1).status_code == 400


@pytest.mark.parametrize("body", [{}, {"progress": "half"}, {"progress": True}, {"progress": float("nan")}])
def test_bad_progress_is_a_readable_400(client, ticket, body):
    response = client.post(f"/worker/jobs/{ticket.job_id}/progress", json=body, headers=_auth(ticket))
    assert response.status_code == 400


def test_a_failure_report_requeues_the_job(client, store, ticket):
    response = client.post(f"/worker/jobs/{ticket.job_id}/failure", json={"reason": "decoder crashed"},
                           headers=_auth(ticket))
    assert response.json == {"state": "queued"}
    job = store.jobs.get(ticket.job_id)
    assert (job.state, job.error, job.lease_owner) == ("queued", "decoder crashed", None)


def test_the_worker_secret_is_made_once_and_private(settings):
    first = worker_secret(settings.data_dir)
    assert worker_secret(settings.data_dir) == first and len(first) > 40
    assert (settings.data_dir / "worker_secret").stat().st_mode & 0o077 == 0


def test_voicemail_goes_before_a_long_call_and_a_short_call_before_it(store, settings, tmp_path):
    long_call = tmp_path / "long.raw"
    long_call.write_bytes(b"\0" * 3_000_000)
    store.intake.enqueue(CallMeta(uniqueid="l"), [long_call])
    store.intake.enqueue(CallMeta(uniqueid="s"), [write_wav(tmp_path / "s.wav")])
    store.intake.enqueue(CallMeta(uniqueid="v", kind="voicemail"), [write_wav(tmp_path / "v.wav")])
    priorities = {t.meta.uniqueid: t.priority for t in iter(lambda: hand_out(store, settings), None)}
    assert priorities["v"] > priorities["s"] > priorities["l"]
