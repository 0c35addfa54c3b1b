"""The web UI's pages as people use them: the calls list and its filters, a call with its
player, transcript and timeline, renaming and deleting, search, jobs, users, the account
page, German and English."""

import io
import re

import pytest
import soundfile

from appliance.errors import NotFound
from appliance.transcript.model import CallMeta, Turn
from appliance.web.playback import cache_path
from support.store import finished_call
from support.web import (
    ADMIN_PASSWORD,
    audit_actions,
    choose_password,
    csrf_token,
    hashed,
    login,
    post,
    recorded_call,
    shown_secret,
    talk,
    words_of,
    write_raw,
    write_wav,
)

LINES = [
    (0, "hello I have a question about my invoice"),
    (1, "sure what is the invoice number"),
    (0, "it is seven four two"),
]


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text_of(page: str) -> str:
    """The page's visible text, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def rows(page: str) -> int:
    return page.count("<tr data-call=")


def wav_call(store, tmp_path, uniqueid="w1", lines=LINES, **meta):
    wav = write_wav(tmp_path / f"{uniqueid}.wav")
    meta = CallMeta(uniqueid=uniqueid, **{"caller": "+49 30 1234567", "callee": "200", **meta})
    return recorded_call(store, [wav], meta, talk(lines))


def raw_call(store, tmp_path, uniqueid="r1"):
    raw = write_raw(tmp_path / f"{uniqueid}.raw")
    meta = CallMeta(uniqueid=uniqueid, caller="+49 30 7654321", callee="201")
    return recorded_call(store, [raw], meta, talk(LINES), options={"channels": 2, "sample_rate": 8000})


# --- audio -----------------------------------------------------------------------------------


def test_a_wav_recording_plays_as_it_is_and_seeks_by_range(admin_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    original = (tmp_path / "w1.wav").read_bytes()
    with admin_client.get(f"/calls/{call_id}/audio") as response:
        assert response.status_code == 200
        assert response.mimetype == "audio/wav"
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.get_data() == original
    with admin_client.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=0-99"}) as part:
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes 0-99/{len(original)}"
        assert part.get_data() == original[:100]
    with admin_client.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=1000-1099"}) as later:
        assert later.status_code == 206
        assert later.get_data() == original[1000:1100]


def test_a_raw_recording_plays_as_a_cached_wav_and_seeks_by_range(admin_client, store, tmp_path, settings):
    call_id = raw_call(store, tmp_path).call_id
    with admin_client.get(f"/calls/{call_id}/audio") as response:
        assert response.status_code == 200
        assert response.mimetype == "audio/wav"
        body = response.get_data()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    frames, rate = soundfile.read(io.BytesIO(body))
    assert frames.shape[1] == 2
    assert abs(len(frames) / rate - 1.0) < 0.01

    cached = cache_path(settings, call_id)
    assert cached.read_bytes() == body
    made = cached.stat().st_mtime_ns
    with admin_client.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=0-99"}) as part:
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes 0-99/{len(body)}"
        assert part.get_data() == body[:100]
    assert cached.stat().st_mtime_ns == made  # served from the cache, not decoded again


def test_a_missing_recording_is_gone_not_an_error(admin_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    (tmp_path / "w1.wav").unlink()
    response = admin_client.get(f"/calls/{call_id}/audio")
    assert response.status_code == 410
    assert html(admin_client.get(f"/calls/{call_id}"))  # the transcript still shows


def test_an_unreadable_recording_is_gone_not_an_error(admin_client, store, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    call_id = recorded_call(store, [junk], CallMeta(uniqueid="junk"), talk(LINES)).call_id
    assert admin_client.get(f"/calls/{call_id}/audio").status_code == 410


def test_a_call_without_a_recording_file_is_not_found(admin_client, store, tmp_path):
    assert admin_client.get("/calls/12345/audio").status_code == 404


def test_one_playback_is_one_listen_entry_however_many_ranges(admin_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    for byte_range in ("bytes=0-", "bytes=4000-", "bytes=8000-8999", "bytes=12000-"):
        with admin_client.get(f"/calls/{call_id}/audio?play=p1", headers={"Range": byte_range}) as response:
            assert response.status_code == 206
    listens = audit_actions(store, "listen")
    assert [(e.actor, e.target) for e in listens] == [("ada", f"call {call_id}")]
    with admin_client.get(f"/calls/{call_id}/audio?play=p2") as response:  # the page opened again
        assert response.status_code == 200
    assert len(audit_actions(store, "listen")) == 2


# --- the calls list --------------------------------------------------------------------------


def test_the_calls_list_shows_caller_callee_and_state(viewer_client, store, tmp_path):
    wav_call(store, tmp_path)
    store.intake.enqueue(CallMeta(uniqueid="q1", caller="555 0100", callee="300"), [tmp_path / "q1.raw"], {})
    page = html(viewer_client.get("/"))
    assert rows(page) == 2
    for text in ("+49 30 1234567", "200", "555 0100", "300", ">done<", ">queued<", "Caller, Agent"):
        assert text in page
    assert "Calls <small>(2)</small>" in page


def test_the_calls_list_pages_newest_first(viewer_client, store, tmp_path):
    for i in range(30):
        finished_call(store, tmp_path, CallMeta(uniqueid=f"u{i}", caller=f"+49 30 5550{i:02d}", callee="200"),
                      [(0, f"call number {i}")])
    first = html(viewer_client.get("/"))
    assert rows(first) == 25
    assert "page 1 of 2" in first
    assert "+49 30 555029" in first and "+49 30 555000" not in first
    assert 'rel="next" href="?page=2"' in first
    second = html(viewer_client.get("/?page=2"))
    assert rows(second) == 5
    assert "page 2 of 2" in second
    assert "+49 30 555000" in second and "+49 30 555029" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # Past the end, or nonsense, is an empty or first page, never an error.
    assert rows(html(viewer_client.get("/?page=9"))) == 0
    assert rows(html(viewer_client.get("/?page=-3"))) == 25
    assert rows(html(viewer_client.get("/?page=abc"))) == 25


@pytest.fixture
def three_calls(store, tmp_path):
    finished_call(store, tmp_path, CallMeta(uniqueid="a", caller="+49 (30) 111-22", callee="200",
                                             started_at="2024-05-01T09:00:00+00:00"), [(0, "first")])
    finished_call(store, tmp_path, CallMeta(uniqueid="b", caller="+44 20 333", callee="201",
                                             started_at="2024-06-15T09:00:00+00:00"), [(0, "second")])
    store.intake.enqueue(CallMeta(uniqueid="c", caller="0171 444", callee="202",
                                     started_at="2024-07-01T09:00:00+00:00"), [tmp_path / "c.raw"], {})


@pytest.mark.parametrize(
    "query, callers",
    [
        ("", {"+49 (30) 111-22", "+44 20 333", "0171 444"}),
        ("number=3011122", {"+49 (30) 111-22"}),
        ("number=30+111", {"+49 (30) 111-22"}),
        ("number=202", {"0171 444"}),
        ("from=2024-06-01", {"+44 20 333", "0171 444"}),
        ("to=2024-05-31", {"+49 (30) 111-22"}),
        ("from=2024-06-01&to=2024-06-30", {"+44 20 333"}),
        ("state=queued", {"0171 444"}),
        ("state=done", {"+49 (30) 111-22", "+44 20 333"}),
        ("state=failed", set()),
        ("state=bogus", {"+49 (30) 111-22", "+44 20 333", "0171 444"}),
        ("from=garbage", {"+49 (30) 111-22", "+44 20 333", "0171 444"}),
        ("from=2024-13-45&to=yesterday", {"+49 (30) 111-22", "+44 20 333", "0171 444"}),
        ("number=%00%27%22", set()),
    ],
)
def test_filters_narrow_the_calls_list(query, callers, three_calls, viewer_client):
    page = html(viewer_client.get(f"/?{query}"))
    shown = {c for c in ("+49 (30) 111-22", "+44 20 333", "0171 444") if c in page}
    assert shown == callers
    assert rows(page) == len(callers)


def test_paging_keeps_the_filters(viewer_client, store, tmp_path):
    for i in range(27):
        finished_call(store, tmp_path, CallMeta(uniqueid=f"u{i}", caller=f"0800 {i:03d}"), [(0, "hi")])
    finished_call(store, tmp_path, CallMeta(uniqueid="other", caller="+1 555"), [(0, "hi")])
    page = html(viewer_client.get("/?number=0800"))
    assert "page 1 of 2" in page
    assert 'href="?number=0800&amp;page=2"' in page
    assert rows(html(viewer_client.get("/?number=0800&page=2"))) == 2


# --- a call ----------------------------------------------------------------------------------


def test_a_call_page_shows_speakers_turns_player_and_exports(viewer_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    page = html(viewer_client.get(f"/calls/{call_id}"))
    text = text_of(page)
    assert 'value="Caller"' in page and 'value="Agent"' in page
    for _, line in LINES:
        assert line in text
    assert page.count('class="who">Caller<') == 2 and page.count('class="who">Agent<') == 1
    assert f'src="/calls/{call_id}/audio?play=' in page and 'preload="none"' in page
    for fmt in ("txt", "srt", "vtt", "json", "docx"):
        assert f'href="/calls/{call_id}/export/{fmt}"' in page
    assert [(e.actor, e.target) for e in audit_actions(store, "view")] == [("vic", f"call {call_id}")]


def test_the_timeline_has_one_bar_per_turn(viewer_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    page = html(viewer_client.get(f"/calls/{call_id}"))
    timeline = re.search(r'<svg class="timeline".*?</svg>', page, re.S).group(0)
    assert timeline.count("<rect") == len(LINES)
    assert timeline.count('y="2"') == 2 and timeline.count('y="16"') == 1  # a lane per speaker


def test_low_confidence_words_are_marked_unsure(viewer_client, store, tmp_path):
    sure = words_of("the invoice number is", 0.0, 1.0)
    turn = Turn(0, 0.0, 1.5, "the invoice number is seventy", (*sure, *words_of("seventy", 1.0, 1.5, 0.2)))
    call_id = recorded_call(store, [write_wav(tmp_path / "u.wav")], CallMeta(uniqueid="u"), [turn]).call_id
    page = html(viewer_client.get(f"/calls/{call_id}"))
    unsure = re.findall(r'<span class="w unsure"[^>]*>([^<]*)</span>', page)
    assert [word.strip() for word in unsure] == ["seventy"]
    assert 'title="unsure: 20 %"' in page
    assert page.count('<span class="w"') == 4


def test_an_unknown_call_is_not_found(viewer_client):
    assert viewer_client.get("/calls/999").status_code == 404
    assert viewer_client.get("/calls/999/export/txt").status_code == 404


def test_a_call_still_transcribing_says_so(viewer_client, store, tmp_path):
    result = store.intake.enqueue(CallMeta(uniqueid="q", caller="555"), [tmp_path / "q.raw"], {})
    page = html(viewer_client.get(f"/calls/{result.call_id}"))
    assert "The transcript is not ready yet." in page
    assert viewer_client.get(f"/calls/{result.call_id}/export/txt").status_code == 404


def test_renaming_a_speaker_shows_on_the_page_and_in_search(viewer_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    response = post(viewer_client, f"/calls/{call_id}/speakers/0", {"label": "  Frau Müller  "},
                    token_from=f"/calls/{call_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/calls/{call_id}"
    page = html(viewer_client.get(f"/calls/{call_id}"))
    assert 'value="Frau Müller"' in page
    assert page.count('class="who">Frau Müller<') == 2
    assert "<strong>Frau Müller</strong>" in html(viewer_client.get("/search?q=question"))
    assert "Frau Müller" in html(viewer_client.get("/"))  # the list's speakers column
    assert [e.target for e in audit_actions(store, "rename-speaker")] == [f"call {call_id}"]


def test_a_speaker_name_is_text_not_markup(viewer_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    post(viewer_client, f"/calls/{call_id}/speakers/1", {"label": "<script>alert(1)</script>"})
    page = html(viewer_client.get(f"/calls/{call_id}"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_blank_speaker_name_is_refused(viewer_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    response = post(viewer_client, f"/calls/{call_id}/speakers/0", {"label": "   "})
    assert response.status_code == 302
    page = html(viewer_client.get(f"/calls/{call_id}"))
    assert "A speaker needs a name." in page
    assert store.transcripts.get(call_id).speakers[0].label == "Caller"


def test_renaming_a_speaker_of_an_unknown_call_is_not_found(viewer_client):
    assert post(viewer_client, "/calls/999/speakers/0", {"label": "x"}).status_code == 404


def test_an_admin_deletes_a_call_with_its_recording_and_cached_audio(admin_client, store, tmp_path, settings):
    call_id = raw_call(store, tmp_path).call_id
    with admin_client.get(f"/calls/{call_id}/audio") as played:
        assert played.status_code == 200
    recording, cached = tmp_path / "r1.raw", cache_path(settings, call_id)
    assert recording.exists() and cached.exists()

    confirm = html(admin_client.get(f"/calls/{call_id}/delete"))
    assert "Delete this call?" in confirm and "+49 30 7654321" in confirm
    response = post(admin_client, f"/calls/{call_id}/delete", token_from=f"/calls/{call_id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "The call and its recording were deleted." in html(admin_client.get("/"))
    assert admin_client.get(f"/calls/{call_id}").status_code == 404
    assert not recording.exists() and not cached.exists()
    with pytest.raises(NotFound):
        store.calls.get(call_id)
    assert "0 matches" in html(admin_client.get("/search?q=invoice"))
    assert [e.target for e in audit_actions(store, "delete")] == [f"call {call_id}"]
    assert post(admin_client, f"/calls/{call_id}/delete").status_code == 404


# --- search ----------------------------------------------------------------------------------


def test_search_finds_a_word_and_marks_it(viewer_client, store, tmp_path):
    call_id = wav_call(store, tmp_path).call_id
    page = html(viewer_client.get("/search?q=invoice"))
    assert "2 matches" in page
    assert page.count("<mark>invoice</mark>") == 2
    assert f'href="/calls/{call_id}#t=' in page
    assert len(audit_actions(store, "search")) == 1
    assert audit_actions(store, "search")[0].detail is None  # what was searched is not logged


def test_search_takes_a_phrase(viewer_client, store, tmp_path):
    wav_call(store, tmp_path)
    assert "1 match" in html(viewer_client.get('/search?q="have a question"'))
    assert "0 matches" in html(viewer_client.get('/search?q="question have"'))


def test_a_malformed_search_explains_itself_with_400(viewer_client, store, tmp_path):
    wav_call(store, tmp_path)
    for query in ('"open', "AND", "invoice OR"):
        response = viewer_client.get("/search", query_string={"q": query})
        assert response.status_code == 400, query
        page = response.get_data(as_text=True)
        assert 'class="flash error" role="alert"' in page
        assert not re.search(r"\d+ match", page)
    assert "unbalanced quote" in viewer_client.get("/search", query_string={"q": '"open'}).get_data(as_text=True)


def test_search_filters_by_who_said_it(viewer_client, store, tmp_path):
    wav_call(store, tmp_path)
    callee = html(viewer_client.get("/search?q=invoice&role=callee"))
    assert "1 match" in callee and "<strong>Agent</strong>" in callee and "<strong>Caller</strong>" not in callee
    caller = html(viewer_client.get("/search?q=invoice&role=caller"))
    assert "1 match" in caller and "<strong>Caller</strong>" in caller
    assert "2 matches" in html(viewer_client.get("/search?q=invoice&role=nonsense"))


def test_search_without_a_query_is_just_the_form(viewer_client, store):
    page = html(viewer_client.get("/search"))
    assert 'name="q"' in page and not re.search(r"\d+ match", page)
    assert audit_actions(store, "search") == []


def test_snippet_text_is_escaped_before_marking(viewer_client, store, tmp_path):
    wav_call(store, tmp_path, lines=[(0, "invoice <b>bold</b> & co")])
    page = html(viewer_client.get("/search?q=invoice"))
    assert "<b>bold</b>" not in page
    assert "&lt;b&gt;" in page and "<mark>invoice</mark>" in page


# --- jobs ------------------------------------------------------------------------------------


def test_the_jobs_page_shows_why_a_job_failed_and_rerun_queues_it(admin_client, store, tmp_path):
    result = store.intake.enqueue(CallMeta(uniqueid="bad", caller="555 0199"), [tmp_path / "bad.raw"], {})
    job = store.jobs.claim("web-test", 60)
    store.jobs.fail(job.id, "web-test", "the decoder gave up: no audio stream", permanent=False,
                   max_attempts=1, backoff_seconds=1)
    page = html(admin_client.get("/jobs"))
    assert '<td class="reason">the decoder gave up: no audio stream</td>' in page
    assert f'action="/jobs/{result.job_id}/retry"' in page
    assert "bad.raw" in page

    response = post(admin_client, f"/jobs/{result.job_id}/retry", token_from="/jobs")
    assert response.status_code == 302 and response.headers["Location"] == "/jobs"
    assert store.jobs.get(result.job_id).state == "queued"
    assert store.jobs.get(result.job_id).attempts == 0
    after = html(admin_client.get("/jobs"))
    assert f"Job {result.job_id} is queued again." in after
    assert [e.target for e in audit_actions(store, "retry")] == [f"job {result.job_id}"]
    assert post(admin_client, "/jobs/999/retry").status_code == 404


def test_why_a_job_failed_is_said_in_the_readers_language(admin_client, store, settings, tmp_path):
    from appliance.jobs.worker import Worker

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    failed = store.intake.enqueue(CallMeta(uniqueid="empty", caller="555 0123"), [empty], {})
    assert Worker(settings, store, engine=object()).run_once() is True  # the file fails before any model
    assert store.jobs.get(failed.job_id).error == "empty.wav: file is empty (0 bytes)"  # English for CLI and API
    # A row from before errors had cases: its English text is all there is.
    older = store.intake.enqueue(CallMeta(uniqueid="older"), [tmp_path / "older.raw"], {})
    store.jobs.fail(store.jobs.claim("web-test", 60).id, "web-test", "the decoder gave up", permanent=True,
                   max_attempts=1, backoff_seconds=1)
    post(admin_client, "/account", {"action": "locale", "locale": "de"}, token_from="/account")
    page = html(admin_client.get("/jobs"))
    assert '<td class="reason">empty.wav: Datei ist leer (0 Byte)</td>' in page
    assert '<td class="reason">the decoder gave up</td>' in page
    assert "empty.wav: Datei ist leer (0 Byte)" in html(admin_client.get(f"/calls/{failed.call_id}"))
    assert 'title="empty.wav: Datei ist leer (0 Byte)"' in html(admin_client.get("/"))
    assert "the decoder gave up" in html(admin_client.get(f"/calls/{older.call_id}"))


# --- users and the account page --------------------------------------------------------------


def test_an_admin_adds_a_user_whose_password_is_shown_once_and_works(app, admin_client, store):
    response = post(admin_client, "/admin/users", {"username": "bea", "role": "viewer", "locale": "de"},
                    token_from="/admin/users")
    page = html(response)
    assert "User bea created. Their password, to be changed at the first login:" in page
    password = shown_secret(page)
    assert password not in html(admin_client.get("/admin/users"))
    assert store.users.by_name("bea").role == "viewer" and store.users.by_name("bea").locale == "de"
    assert password not in store.users.by_name("bea").password_hash

    bea = app.test_client()
    assert login(bea, "bea", password).headers["Location"] == "/account/password"
    assert choose_password(bea, password, "bea's own password").status_code == 302
    assert "Gespräche" in html(bea.get("/"))
    assert bea.get("/admin/users").status_code == 403


def test_a_taken_user_name_is_refused(admin_client, store):
    page = html(post(admin_client, "/admin/users", {"username": "ADA", "role": "admin"}))
    assert "Choose a user name that is not taken." in page
    assert len(store.users.all()) == 1


def test_the_last_admin_cannot_be_demoted_or_disabled(admin_client, admin_user, store):
    for form in ({"action": "access", "role": "viewer", "scope": "all"}, {"action": "disable"}):
        post(admin_client, f"/admin/users/{admin_user.id}", form)
        assert "The last administrator cannot be demoted, disabled or deleted." in html(admin_client.get("/admin/users"))
    assert store.users.get(admin_user.id).role == "admin" and not store.users.get(admin_user.id).disabled
    assert post(admin_client, f"/admin/users/{admin_user.id}", {"action": "explode"}).status_code == 400
    assert post(admin_client, "/admin/users/999", {"action": "disable"}).status_code == 404


def test_a_password_reset_shows_the_new_password_once(app, admin_client, viewer_user):
    page = html(post(admin_client, f"/admin/users/{viewer_user.id}", {"action": "reset-password"}))
    assert "New password for vic, to be changed at the next login:" in page
    password = shown_secret(page)
    assert password not in html(admin_client.get("/admin/users"))
    assert login(app.test_client(), "vic", password).status_code == 302


def test_the_audit_page_lists_what_people_did(admin_client, store):
    page = html(admin_client.get("/admin/audit"))
    assert "<td>logged in</td>" in page and "<td>ada</td>" in page
    filtered = html(admin_client.get("/admin/audit?action=search"))
    assert "<td>logged in</td>" not in filtered


def test_choosing_german_on_the_account_page_turns_the_pages_german(viewer_client, store):
    assert "Calls" in html(viewer_client.get("/"))
    response = post(viewer_client, "/account", {"action": "locale", "locale": "de"}, token_from="/account")
    assert response.status_code == 302
    page = html(viewer_client.get("/"))
    assert '<html lang="de">' in page
    assert "Gespräche" in page
    assert store.users.by_name("vic").locale == "de"
    post(viewer_client, "/account", {"action": "locale", "locale": "fr"})
    assert store.users.by_name("vic").locale == "de"


def test_an_api_token_is_shown_once_and_works(app, viewer_client, store):
    page = html(post(viewer_client, "/account", {"action": "token", "name": "CRM"}, token_from="/account"))
    token = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    assert token.startswith("ca_")
    again = html(viewer_client.get("/account"))
    assert token not in again and "CRM" in again
    api = app.test_client()
    assert api.get("/api/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    (saved,) = store.users.api_tokens(store.users.by_name("vic").id)
    post(viewer_client, "/account", {"action": "revoke", "token_id": str(saved.id)})
    assert api.get("/api/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert [e.action for e in store.audit.entries(limit=50) if e.action.startswith("token")] == [
        "token-revoke", "token-add"]


def test_an_unknown_account_action_is_a_bad_request(viewer_client):
    assert post(viewer_client, "/account", {"action": "promote-me"}).status_code == 400


# --- German and English ----------------------------------------------------------------------


@pytest.mark.parametrize("accept, label", [("de", "Anmelden"), ("de-DE,de;q=0.9,en;q=0.5", "Anmelden"),
                                           ("en", "Log in"), ("fr", "Log in"), (None, "Log in")])
def test_the_login_page_speaks_the_browsers_language(client, accept, label):
    headers = {"Accept-Language": accept} if accept else {}
    page = html(client.get("/login", headers=headers))
    assert f">{label}</button>" in page


def test_a_failed_login_is_explained_in_german(client, admin_user):
    token = csrf_token(client)
    response = client.post("/login", data={"username": "ada", "password": "x", "csrf_token": token},
                           headers={"Accept-Language": "de"})
    assert response.status_code == 401
    assert "Benutzername oder Passwort ist falsch." in response.get_data(as_text=True)


def test_a_users_language_wins_over_the_browsers(app, store):
    store.users.add("dora", hashed(ADMIN_PASSWORD), "viewer", "de")
    store.users.add("eric", hashed(ADMIN_PASSWORD), "viewer", "en")
    dora, eric = app.test_client(), app.test_client()
    login(dora, "dora", ADMIN_PASSWORD)
    login(eric, "eric", ADMIN_PASSWORD)
    german = html(dora.get("/", headers={"Accept-Language": "en"}))
    assert "Gespräche" in german and ">Search<" not in german
    english = html(eric.get("/", headers={"Accept-Language": "de"}))
    assert "Gespräche" not in english and ">Calls<" in english


def test_two_first_plays_at_once_both_get_the_audio(admin_client, store, tmp_path, settings, monkeypatch):
    """Two people open a new call together: both decode it; neither may get a 410."""
    from appliance.web import playback

    call_id = raw_call(store, tmp_path).call_id
    real_write = playback.soundfile.write
    other = {}

    def write_then_let_the_other_request_in(*args, **kwargs):
        real_write(*args, **kwargs)
        if not other:  # the other request runs to its end between our write and our rename
            other["client"] = admin_client.application.test_client()
            login(other["client"], "ada", ADMIN_PASSWORD)
            with other["client"].get(f"/calls/{call_id}/audio") as response:
                other["status"] = response.status_code

    monkeypatch.setattr(playback.soundfile, "write", write_then_let_the_other_request_in)
    with admin_client.get(f"/calls/{call_id}/audio") as response:
        assert response.status_code == 200
        assert response.get_data()[:4] == b"RIFF"
    assert other["status"] == 200
    assert [p.name for p in cache_path(settings, call_id).parent.iterdir()] == [f"{call_id}.wav"]
