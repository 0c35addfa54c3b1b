"""The JSON API a CRM or script uses: bearer tokens from the account page, calls, one call
with its transcript, search, and the refusals (bad token, revoked, disabled, bad query)."""

import pytest

from appliance.transcript.model import CallMeta, Turn
from appliance.web.auth import hash_token, new_api_token
from support.web import audit_actions, recorded_call, talk, words_of, write_wav


@pytest.fixture
def token(store, viewer_user):
    token = new_api_token()
    store.users.add_api_token(viewer_user.id, "crm", hash_token(token))
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def calls(store, tmp_path):
    """Two finished calls with words, and one still queued."""
    first = recorded_call(
        store, [write_wav(tmp_path / "a.wav")],
        CallMeta(uniqueid="a", caller="+49 30 111", callee="200", direction="inbound",
                 started_at="2024-05-01T09:00:00+00:00"),
        talk([(0, "my invoice is wrong"), (1, "let me check the invoice")]),
    )
    unsure = Turn(0, 0.0, 1.0, "hello there", (*words_of("hello", 0.0, 0.5), *words_of("there", 0.5, 1.0, 0.2)))
    second = recorded_call(store, [write_wav(tmp_path / "b.wav")],
                           CallMeta(uniqueid="b", caller="+44 20 222", callee="201",
                                    started_at="2024-06-01T09:00:00+00:00"), [unsure])
    queued = store.intake.enqueue(CallMeta(uniqueid="c", caller="0171 333"), [tmp_path / "c.raw"], {})
    return first.call_id, second.call_id, queued.call_id


def test_the_calls_list_comes_as_json_newest_first(client, token, calls):
    response = client.get("/api/calls", headers=bearer(token))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["total"] == 3 and body["page"] == 1
    assert [c["id"] for c in body["calls"]] == sorted(calls, reverse=True)
    first = next(c for c in body["calls"] if c["id"] == calls[0])
    assert (first["caller"], first["callee"], first["state"], first["speakers"]) == (
        "+49 30 111", "200", "done", ["Caller", "Agent"])
    assert next(c for c in body["calls"] if c["id"] == calls[2])["state"] == "queued"


def test_the_calls_list_takes_the_pages_filters(client, token, calls):
    def ids(query):
        return [c["id"] for c in client.get(f"/api/calls?{query}", headers=bearer(token)).get_json()["calls"]]

    assert ids("number=30111") == [calls[0]]
    assert ids("state=queued") == [calls[2]]
    assert ids("from=2024-05-15&to=2024-12-31") == [calls[1]]
    assert ids("from=garbage") == sorted(calls, reverse=True)
    assert ids("page=2") == []


def test_one_call_comes_with_its_transcript_turns_and_words(client, token, calls, store):
    response = client.get(f"/api/calls/{calls[0]}", headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["call"]["id"] == calls[0] and body["call"]["uniqueid"] == "a"
    transcript = body["transcript"]
    assert [s["label"] for s in transcript["speakers"]] == ["Caller", "Agent"]
    assert [(t["speaker"], t["text"]) for t in transcript["turns"]] == [
        (0, "my invoice is wrong"), (1, "let me check the invoice")]
    assert [w["word"].strip() for w in transcript["turns"][0]["words"]] == ["my", "invoice", "is", "wrong"]
    assert set(transcript["turns"][0]["words"][0]) == {"start", "end", "word", "probability"}
    assert [(e.actor, e.target, e.detail) for e in audit_actions(store, "view")] == [
        ("vic", f"call {calls[0]}", "api")]

    words = client.get(f"/api/calls/{calls[1]}", headers=bearer(token)).get_json()["transcript"]["turns"][0]["words"]
    assert [w["probability"] for w in words] == [0.95, 0.2]


def test_a_call_still_queued_has_no_transcript_yet(client, token, calls):
    body = client.get(f"/api/calls/{calls[2]}", headers=bearer(token)).get_json()
    assert body["call"]["state"] == "queued" and body["transcript"] is None


def test_an_unknown_call_is_a_json_404(client, token):
    response = client.get("/api/calls/999", headers=bearer(token))
    assert response.status_code == 404
    assert response.get_json() == {"error": "not found"}


def test_search_returns_hits_with_marked_snippets(client, token, calls, store):
    response = client.get("/api/search?q=invoice", headers=bearer(token))
    assert response.status_code == 200
    hits = response.get_json()["hits"]
    assert len(hits) == 2
    assert {h["call_id"] for h in hits} == {calls[0]}
    assert all("[invoice]" in h["snippet"] for h in hits)
    assert {h["speaker"] for h in hits} == {"Caller", "Agent"}
    agent = client.get("/api/search?q=invoice&role=callee", headers=bearer(token)).get_json()["hits"]
    assert [h["speaker"] for h in agent] == ["Agent"]
    assert [e.detail for e in audit_actions(store, "search")] == ["api", "api"]


@pytest.mark.parametrize("query", ['"open', "", "AND", "invoice OR"])
def test_a_bad_search_is_a_json_400_that_says_why(client, token, calls, query):
    response = client.get("/api/search", query_string={"q": query}, headers=bearer(token))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert isinstance(error, str) and len(error) > 10


def test_a_wrong_token_is_refused(client, token, calls):
    for header in (f"Bearer {token}x", "Bearer ", f"Basic {token}", token, f"bearer {token}"):
        response = client.get("/api/calls", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json() == {"error": "login required"}
    assert client.get(f"/api/calls?token={token}").status_code == 401


def test_a_revoked_token_is_refused(client, token, calls, store, viewer_user):
    assert client.get("/api/calls", headers=bearer(token)).status_code == 200
    (saved,) = store.users.api_tokens(viewer_user.id)
    assert saved.last_used_at is not None
    store.users.revoke_api_token(viewer_user.id, saved.id)
    assert client.get("/api/calls", headers=bearer(token)).status_code == 401


def test_a_disabled_users_token_is_revoked(client, token, calls, store, viewer_user):
    store.users.set_disabled(viewer_user.id, True)
    assert client.get("/api/calls", headers=bearer(token)).status_code == 401
    store.users.set_disabled(viewer_user.id, False)
    assert client.get("/api/calls", headers=bearer(token)).status_code == 401


def test_a_token_logs_in_one_request_and_leaves_no_session(client, token, calls):
    response = client.get("/api/calls", headers=bearer(token))
    assert response.status_code == 200
    assert not any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))
    assert client.get("/api/calls").status_code == 401


def test_the_api_answers_a_browser_session_too_without_csrf(viewer_client, calls):
    response = viewer_client.get("/api/calls")
    assert response.status_code == 200
    assert response.get_json()["total"] == 3
    assert viewer_client.get(f"/api/calls/{calls[0]}").status_code == 200
    assert viewer_client.get("/api/search?q=invoice").status_code == 200


def test_the_api_only_reads(client, token, calls):
    # A token's scope is reading: with any other method it is no login at all.
    for path in ("/api/calls", f"/api/calls/{calls[0]}", "/api/search?q=invoice"):
        assert client.post(path, headers=bearer(token)).status_code == 401
        assert client.delete(path, headers=bearer(token)).status_code == 401


def test_a_token_is_no_login_on_the_pages(client, token, calls):
    for path in ("/jobs", "/admin/users", "/", f"/calls/{calls[0]}"):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_a_token_cannot_post_to_the_pages_without_csrf(client, token, calls, store):
    # The exemption covers the read-only API, not the pages a token can also reach.
    response = client.post(f"/calls/{calls[0]}/speakers/0", data={"label": "x"}, headers=bearer(token))
    assert response.status_code == 400
    assert store.transcripts.get(calls[0]).speakers[0].label == "Caller"
