"""Who sees which call, through the web: an agent of extension 201 walks every route of the app
against a call of extension 202 and never sees, hears, exports or changes it; the admin gives
scopes on the users page. The store side is test_scopes.py.

A new route with a call, a live call or a list in it must be added to ROUTES below: the walk
fails on a route it does not know, so a route that forgets the scope cannot slip in unseen."""

from __future__ import annotations

import json
import re

import pytest

from appliance.store.scopes import entry
from appliance.transcript.model import CallMeta
from appliance.web.auth import hash_token, new_api_token
from support.web import choose_password, hashed, login, post, recorded_call, shown_secret, talk, write_wav

AGENT_PASSWORD = "agent-pass-1234"
OWN_WORD, OTHER_WORD = "apple", "banana"
OTHER_NUMBER = "+4930222999"

# rule -> how the walk treats it: "call" (a call id in it), "live" (a live call id), "list" (shows
# many calls: the other call's word and number must not be on it), "admin" (403 for the agent),
# "own" (the user's own pages, nothing of any call), "worker" (remote workers' and PBXs'
# endpoints: a login is worth nothing there without their own token), "skip" (not walked).
ROUTES = {
    "/static/<path:filename>": "own",
    "/login": "own",
    "/logout": "skip",  # would end the walk's session
    "/": "list",
    "/calls/<int:call_id>": "call",
    "/calls/<int:call_id>/audio": "call",
    "/calls/<int:call_id>/conversation": "call",
    "/calls/<int:call_id>/export/<fmt>": "call",
    "/calls/<int:call_id>/speakers/<int:index>": "call",
    "/calls/<int:call_id>/transcript/edit": "call",
    "/calls/<int:call_id>/delete": "admin",
    "/calls/bulk/export": "list",
    "/calls/bulk/hold": "admin",
    "/calls/bulk/delete": "admin",
    "/filters": "own",
    "/filters/<int:filter_id>/delete": "own",
    "/calls/<int:call_id>/hold": "admin",
    "/calls/<int:call_id>/review": "call",
    "/calls/<int:call_id>/comments": "call",
    "/calls/<int:call_id>/comments/<int:comment_id>/delete": "call",
    "/admin/scorecard": "admin",
    "/admin/scorecard/<int:criterion_id>/delete": "admin",
    "/admin/phrases": "admin",
    "/admin/phrases/<int:rule_id>/mail": "admin",
    "/admin/phrases/<int:rule_id>/delete": "admin",
    "/search": "list",
    "/jobs": "admin",
    "/jobs/<int:job_id>/retry": "admin",
    "/admin/users": "admin",
    "/admin/users/<int:user_id>": "admin",
    "/admin/users/<int:user_id>/delete": "admin",
    "/admin/audit": "admin",
    "/admin/audit/export.<fmt>": "admin",
    "/worker/jobs/<int:job_id>/failure": "worker",
    "/worker/jobs/<int:job_id>/files/<int:index>": "worker",
    "/worker/jobs/<int:job_id>/progress": "worker",
    "/worker/jobs/<int:job_id>/result": "worker",
    "/intake/recordings/<file_name>": "worker",
    "/admin/selftest": "admin",
    "/admin/status": "admin",
    "/admin/retention": "admin",
    "/admin/erasure": "admin",
    "/admin/webhooks": "admin",
    "/admin/contacts": "admin",
    "/admin/contacts/upload": "admin",
    "/admin/contacts/phones": "admin",
    "/admin/contacts/delete": "admin",
    "/admin/webhooks/<int:webhook_id>/test": "admin",
    "/admin/webhooks/<int:webhook_id>/delete": "admin",
    "/account": "own",
    "/account/password": "own",
    "/api/calls": "list",
    "/api/calls/<int:call_id>": "call",
    "/api/calls/<int:call_id>/vcon": "call",
    "/api/search": "list",
    "/dashboard": "list",
    "/events": "list",
    "/healthz": "own",
    "/calls/export.<fmt>": "list",
    "/live/<int:live_id>": "live",
    "/live/in-progress": "list",
    "/live/<int:live_id>/events": "live",
}
EXPORTS = ("txt", "srt", "vtt", "json", "docx", "vcon")


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def world(app, store, tmp_path, admin_user):
    """Two calls, two calls in progress, an agent of extension 201 logged in (and an API token)."""
    agent = store.users.add("agent", hashed(AGENT_PASSWORD), "agent")
    store.users.set_scope_entries(agent.id, [entry("extension", "201")])
    own = recorded_call(store, [write_wav(tmp_path / "own.wav", 3.0)],
                        CallMeta(uniqueid="own.1", caller="201", callee="+4930111000"),
                        talk([(0, f"{OWN_WORD} delivery tomorrow"), (1, "fine thanks")])).call_id
    other = recorded_call(store, [write_wav(tmp_path / "other.wav", 3.0)],
                          CallMeta(uniqueid="other.1", caller="202", callee=OTHER_NUMBER),
                          talk([(0, f"{OTHER_WORD} invoice overdue"), (1, "we pay tomorrow")])).call_id
    own_live = store.live.start("own.2", caller="+4930111000", callee="201", direction="inbound")
    other_live = store.live.start("other.2", caller="202", callee=OTHER_NUMBER, direction="outbound")
    store.live.event(other_live, "caller", final=True, text=f"{OTHER_WORD} secret")
    token = new_api_token()
    store.users.add_api_token(agent.id, "crm", hash_token(token))
    browser = app.test_client()
    assert login(browser, "agent", AGENT_PASSWORD).status_code == 302
    return {"agent": browser, "token": token, "own": own, "other": other, "own_live": own_live,
            "other_live": other_live, "admin_id": admin_user.id}


def _paths(rule: str, ids: dict, which: str) -> list[str]:
    """The concrete paths of a rule for the own or the other call."""
    path = (rule.replace("<int:call_id>", str(ids[which])).replace("<int:live_id>", str(ids[f"{which}_live"]))
            .replace("<int:index>", "0").replace("<int:job_id>", "1").replace("<int:user_id>", str(ids["admin_id"]))
            .replace("<int:webhook_id>", "1")
            .replace("<int:comment_id>", "1").replace("<int:criterion_id>", "1").replace("<int:rule_id>", "1").replace("<int:filter_id>", "1").replace("<file_name>", "in-201-202-20261202-091502-1.2.wav"))
    if "<fmt>" in path:
        return [path.replace("<fmt>", fmt) for fmt in (EXPORTS if "/export/" in path else ("csv", "json"))]
    return [path]


def _send(world, method: str, path: str):
    client = world["agent"]
    if path.startswith("/api/"):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {world['token']}"})
    if method == "POST":
        return post(client, path, {"label": "Mallory"})
    if method == "PUT":
        return client.put(path, data=b"RIFF")
    return client.get(f"{path}?since=0" if path == "/events" else path)


def _body(response, path: str) -> str:
    text = response.get_data(as_text=True)
    response.close()
    return text


def test_the_walk_knows_every_route(app):
    unknown = sorted(rule.rule for rule in app.url_map.iter_rules() if rule.rule not in ROUTES)
    assert not unknown, f"classify these routes in ROUTES (and check their scope): {unknown}"


def test_an_agent_never_reaches_a_call_outside_the_scope_on_any_route(app, world, store):
    seen = []
    for rule in app.url_map.iter_rules():
        kind = ROUTES[rule.rule]
        if kind == "skip":
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            for path in _paths(rule.rule, world, "other"):
                response = _send(world, method, path)
                body = _body(response, path)
                seen.append((method, path, response.status_code))
                if kind in ("call", "live"):
                    assert response.status_code == 404, (method, path, response.status_code)
                elif kind == "admin":
                    assert response.status_code == 403, (method, path, response.status_code)
                elif kind == "worker":
                    assert response.status_code in (400, 401, 403), (method, path, response.status_code)
                assert OTHER_WORD not in body and "222999" not in body, (method, path)
    # The call outside the scope is untouched: nobody renamed its speaker.
    assert store.transcripts.get(world["other"]).speakers[0].label != "Mallory"
    assert len(seen) > 40


def test_a_bulk_export_of_ticked_calls_holds_only_those_in_scope(world, store):
    exported = post(world["agent"], "/calls/bulk/export", {"id": [str(world["other"]), str(world["own"])]})
    rows = exported.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [str(world["own"])]
    assert [e.target for e in store.audit.entries(action="export")][:1] == [f"call {world['own']}"]


def test_the_agent_sees_hears_and_exports_the_own_call(world):
    agent, own = world["agent"], world["own"]
    assert OWN_WORD in html(agent.get(f"/calls/{own}"))
    with agent.get(f"/calls/{own}/audio") as audio:
        assert audio.status_code == 200 and audio.mimetype.startswith("audio/")
    for fmt in EXPORTS:
        assert agent.get(f"/calls/{own}/export/{fmt}").status_code == 200, fmt
    listed = html(agent.get("/"))
    assert f'data-call="{own}"' in listed and f'data-call="{world["other"]}"' not in listed
    found = html(agent.get("/search?q=tomorrow"))
    assert OWN_WORD in found and OTHER_WORD not in found
    api = agent.get("/api/calls", headers={"Authorization": f"Bearer {world['token']}"}).get_json()
    assert [call["id"] for call in json.loads(json.dumps(api))["calls"]] == [own]
    assert agent.get(f"/live/{world['own_live']}").status_code == 200


def test_renaming_a_speaker_needs_the_edit_permission(world, store):
    own = world["own"]
    assert post(world["agent"], f"/calls/{own}/speakers/0", {"label": "Mallory"}).status_code == 403
    assert store.transcripts.get(own).speakers[0].label != "Mallory"
    store.users.set_may_edit(store.users.by_name("agent").id, True)
    post(world["agent"], f"/calls/{own}/speakers/0", {"label": "Mrs Weber"})
    assert store.transcripts.get(own).speakers[0].label == "Mrs Weber"


def test_the_admin_gives_a_scope_on_the_users_page_and_it_holds_at_once(app, admin_client, world, store):
    agent_id = store.users.by_name("agent").id
    post(admin_client, f"/admin/users/{agent_id}",
         {"action": "access", "role": "agent", "scope": "nebenstelle:202, mailbox:1000", "may_edit": "on"},
         token_from="/admin/users")
    assert [(e.kind, e.value) for e in store.users.scope_entries(agent_id)] == [("extension", "202"), ("mailbox", "1000")]
    assert store.users.get(agent_id).may_edit
    listed = html(world["agent"].get("/"))
    assert f'data-call="{world["other"]}"' in listed and f'data-call="{world["own"]}"' not in listed
    shown = html(admin_client.get("/admin/users"))
    assert 'name="scope" value="extension:202, mailbox:1000"' in shown
    entries = store.audit.entries(limit=10, action="user-access")
    assert entries and "extension:202" in entries[0].detail


def test_a_bad_scope_is_refused_with_a_reason_and_changes_nothing(admin_client, world, store):
    agent_id = store.users.by_name("agent").id
    post(admin_client, f"/admin/users/{agent_id}", {"action": "access", "role": "agent", "scope": "planet:mars"},
         token_from="/admin/users")
    page = html(admin_client.get("/admin/users"))
    assert "This scope cannot be used" in page and "planet" in page
    assert [(e.kind, e.value) for e in store.users.scope_entries(agent_id)] == [("extension", "201")]


def test_a_new_user_gets_role_and_scope_from_the_add_form(app, admin_client, world, store):
    page = html(post(admin_client, "/admin/users", {"username": "desk", "role": "receptionist", "scope": "mailbox:300",
                                                     "locale": "de"}, token_from="/admin/users"))
    password = shown_secret(page)
    desk = store.users.by_name("desk")
    assert desk.role == "receptionist" and [(e.kind, e.value) for e in store.users.scope_entries(desk.id)] == [("mailbox", "300")]
    browser = app.test_client()
    assert login(browser, "desk", password).status_code == 302
    assert choose_password(browser, password, "desk's own password").status_code == 302
    assert "(0)" in html(browser.get("/"))  # mailbox 300 holds no call here
