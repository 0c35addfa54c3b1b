"""Who sees which call, in the store: each role's scope on the call list, counts, the call,
its transcript and audio, search hits and counts, insights, the change feed and live calls;
edits need the permission. The web side (every route as a scoped user) is test_scopes_web.py."""

import pytest

from appliance.errors import NotAllowed, NotFound
from appliance.store.scopes import Scope, entry
from appliance.transcript.model import CallMeta
from support.store import finished_call

# uniqueid: (caller, callee, kind, what was said). Each call says one word no other says.
CALLS = {
    "ext201": ("+49 30 1111111", "201", "call", "apple delivery tomorrow"),
    "ext202": ("202", "+49 (30) 2222222", "call", "banana invoice overdue"),
    "vm201": ("+49 30 3333333", "201", "voicemail", "cherry please call back"),
    "vm300": ("+49 30 4444444", "300", "voicemail", "damson for the front desk"),
    "note202": ("202", None, "note", "elder reminder dictated"),
    "did": ("+49 30 5555555", "+49 30 9990", "call", "fig for the hotline"),
}
WORD = {uid: text.split()[0] for uid, (_, _, _, text) in CALLS.items()}

# username: (role, entries, may_edit) -> the calls they see
USERS = {
    "agent1": ("agent", [entry("extension", "201")], False, {"ext201"}),
    "agent2": ("agent", [entry("extension", "202"), entry("group", "Sales")], True, {"ext202", "note202"}),
    "boss": ("supervisor", [entry("group", "Sales"), entry("number", "+49 30 9990")], True,
             {"ext202", "note202", "did"}),
    "desk": ("receptionist", [entry("mailbox", "300")], False, {"vm300"}),
    "owner201": ("viewer", [entry("extension", "201"), entry("mailbox", "201")], False, {"ext201", "vm201"}),
    "dpo": ("viewer", [entry("all")], False, set(CALLS)),
    "nobody": ("agent", [], False, set()),
    "root": ("admin", [], False, set(CALLS)),
}


@pytest.fixture
def calls(store, tmp_path):
    ids = {}
    for uid, (caller, callee, kind, text) in CALLS.items():
        meta = CallMeta(uniqueid=uid, caller=caller, callee=callee, kind=kind, started_at="2024-05-02T10:00:00+00:00")
        ids[uid] = finished_call(store, tmp_path, meta, [(0, text), (1, "thank you goodbye")]).call_id
    return ids


@pytest.fixture
def users(store):
    made = {}
    for name, (role, entries, may_edit, _) in USERS.items():
        user = store.users.add(name, "hash", role)
        store.users.set_scope_entries(user.id, entries)
        store.users.set_may_edit(user.id, may_edit)
        made[name] = store.users.get(user.id)
    return made


def as_user(store, user):
    return store.scoped(store.users.scope_for(user))


@pytest.mark.parametrize("name", USERS)
def test_each_role_sees_exactly_the_calls_of_its_scope(store, calls, users, name):
    seen = USERS[name][3]
    scoped = as_user(store, users[name])
    by_id = {call_id: uid for uid, call_id in calls.items()}
    assert {by_id[c.id] for c in scoped.calls.page(limit=100)} == seen
    assert scoped.calls.count() == len(seen)
    assert {by_id[c.id] for c in scoped.calls.page(limit=100, kind="voicemail")} == {u for u in seen if u.startswith("vm")}
    for uid, call_id in calls.items():
        if uid in seen:
            assert scoped.calls.get(call_id).uniqueid == uid
            assert scoped.transcripts.get(call_id).turns[0].text.startswith(WORD[uid])
            assert scoped.recordings.files(call_id)
            assert scoped.calls.visible(call_id)
        else:
            with pytest.raises(NotFound):
                scoped.calls.get(call_id)
            with pytest.raises(NotFound):
                scoped.recordings.files(call_id)
            with pytest.raises(NotFound):
                scoped.recordings.options(call_id)
            assert scoped.transcripts.get(call_id) is None
            assert not scoped.calls.visible(call_id)
            assert scoped.menu.of_call(call_id) == []
        hits = scoped.search.hits(WORD[uid])
        assert ({h.call_id for h in hits} == {call_id}) == (uid in seen)
        assert scoped.search.count(WORD[uid]) == (1 if uid in seen else 0)
    # Words every call shares: hits and counts of the scope only, whatever the filters.
    assert {h.call_id for h in scoped.search.hits("goodbye", limit=100)} == {calls[u] for u in seen}
    assert scoped.search.count("goodbye") == len(seen)
    assert scoped.search.count("goodbye", number="30", date_from="2024-05-01") <= len(seen)
    _, changed = scoped.calls.changes_since(0.0)
    assert {by_id[c.id] for c in changed} == seen


def test_insights_of_calls_out_of_scope_are_not_handed_out(store, calls, users):
    for uid, call_id in calls.items():
        transcript_id = store.calls.get(call_id).recording_id  # any id: the row only needs one
        store.insights.save(call_id, transcript_id, {"keywords": [f"kw{WORD[uid]}"], "summary": []})
    scoped = as_user(store, users["agent1"])
    assert set(scoped.insights.of_calls(calls.values())) == {calls["ext201"]}
    assert scoped.insights.search("kwapple") == [calls["ext201"]]
    assert scoped.insights.search("kwbanana") == []


def test_a_supervisor_sees_the_team_and_no_other_team(store, calls, users):
    scope = store.users.scope_for(users["boss"])
    assert scope.extensions == {"202"} and scope.numbers == {"+49309990"} and not scope.everything
    # agent1 joins another team: the boss does not see agent1's calls.
    store.users.set_scope_entries(users["agent1"].id, [entry("extension", "201"), entry("group", "Support")])
    assert calls["ext201"] not in {c.id for c in as_user(store, users["boss"]).calls.page()}
    # An agent's group is membership only: agent2 does not see the boss's hotline.
    assert calls["did"] not in {c.id for c in as_user(store, users["agent2"]).calls.page()}


def test_edits_need_the_permission_and_the_call_in_scope(store, calls, users):
    agent1, agent2 = as_user(store, users["agent1"]), as_user(store, users["agent2"])
    with pytest.raises(NotAllowed):
        agent1.transcripts.rename_speaker(calls["ext201"], 0, "Mallory")
    with pytest.raises(NotFound):
        agent2.transcripts.rename_speaker(calls["ext201"], 0, "Mallory")
    assert store.transcripts.get(calls["ext201"]).speakers[0].label == "Caller"
    agent2.transcripts.rename_speaker(calls["ext202"], 0, "Frau Müller")
    assert store.transcripts.get(calls["ext202"]).speakers[0].label == "Frau Müller"
    as_user(store, users["root"]).calls.check_edit(calls["vm300"])  # admins always may


def test_live_calls_in_progress_follow_the_scope(store, users):
    mine = store.live.start("live-201", caller="+49 30 7777777", callee="201", direction="inbound")
    other = store.live.start("live-202", caller="202", callee="+49 30 8888888", direction="outbound")
    store.live.event(mine, "caller", final=True, text="mine")
    store.live.event(other, "caller", final=True, text="secret")
    agent1 = as_user(store, users["agent1"])
    assert [c.id for c in agent1.live.in_progress(60)] == [mine]
    assert agent1.live.call(other) is None
    assert agent1.live.events_since(other, 0) == []
    assert [e.text for e in agent1.live.events_since(mine, 0)] == ["mine"]
    assert as_user(store, users["desk"]).live.in_progress(60) == []


def test_scope_entries_are_stored_normalised_and_bad_ones_refused(store, users):
    assert entry("number", " +49 (30) 123-45 ") == entry("number", "+493012345")
    assert entry("group", "  Front   desk ").value == "Front desk"
    for kind, value in (("extension", ""), ("number", "1" * 65), ("mailbox", "12\x00"), ("team", "x")):
        with pytest.raises(ValueError):
            entry(kind, value)
    store.users.set_scope_entries(users["nobody"].id, [entry("mailbox", "300"), entry("mailbox", "300")])
    assert store.users.scope_entries(users["nobody"].id) == [entry("mailbox", "300")]
    with pytest.raises(NotFound):
        store.users.set_scope_entries(99999, [])


def test_a_user_without_entries_and_the_empty_scope_see_nothing(store, calls, users):
    assert store.users.scope_for(users["nobody"]).empty
    empty = store.scoped(Scope.NONE)
    assert empty.calls.page() == [] and empty.calls.count() == 0
    assert empty.search.hits("goodbye") == [] and empty.search.count("goodbye") == 0
    assert store.calls.count() == len(CALLS)  # the store itself (worker, CLI) sees every call
