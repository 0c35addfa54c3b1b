"""The calls list's filters: direction, kind, extension, number, speaker, duration, words said,
dates; each honoured by the list, its count, its CSV/JSON exports and the API; an empty result
offers to clear the filters instead of saying there are no calls."""

import csv
import io

import pytest

from appliance.transcript.model import CallMeta, Speaker
from support.web import post, recorded_call, talk, write_wav


@pytest.fixture
def calls(store, tmp_path):
    """Four calls of different kinds, directions, parties, speakers, lengths and words."""
    made = {}
    for name, meta, lines, speakers in [
        ("invoice", CallMeta(uniqueid="l-1", caller="+49 30 111", callee="201", direction="inbound",
                             started_at="2026-12-01T09:00:00+00:00"),
         [(0, "my invoice is wrong"), (1, "let me check the invoice"), (0, "thanks")],
         (Speaker(0, "Anna Berg", "caller"), Speaker(1, "Agent", "callee"))),
        ("delivery", CallMeta(uniqueid="l-2", caller="202", callee="+49 40 222", direction="outbound",
                              started_at="2026-12-02T09:00:00+00:00"),
         [(0, "where is my delivery")], (Speaker(0, "Carl", "caller"), Speaker(1, "Agent", "callee"))),
        ("voicemail", CallMeta(uniqueid="l-3", caller="+49 30 111", callee="201", kind="voicemail",
                               started_at="2026-12-02T10:00:00+00:00"), [(0, "please call me back")],
         (Speaker(0, "Caller", "caller"),)),
        ("note", CallMeta(uniqueid="l-4", caller="201", callee="201", kind="note",
                          started_at="2026-12-02T11:00:00+00:00"), [(0, "remember the invoice")],
         (Speaker(0, "Caller", "caller"),)),
    ]:
        wav = write_wav(tmp_path / f"{name}.wav")
        made[name] = recorded_call(store, [wav], meta, talk(lines), speakers).call_id
    return made


FILTERS = [
    ("direction=inbound", {"invoice"}),
    ("direction=outbound", {"delivery"}),
    ("kind=voicemail", {"voicemail"}),
    ("kind=note", {"note"}),
    ("extension=202", {"delivery"}),
    ("extension=20", set()),  # an extension is a whole number, unlike ?number=
    ("number=30 111", {"invoice", "voicemail"}),
    ("speaker=anna", {"invoice"}),
    ("longer=4", {"invoice"}),  # 5.5 s; the others 1.5 s
    ("shorter=0:02", {"delivery", "voicemail", "note"}),
    ("keyword=invoice", {"invoice", "note"}),
    ("keyword=invoice&kind=call", {"invoice"}),
    ("from=2026-12-02&to=2026-12-02&kind=call", {"delivery"}),
]


def test_each_filter_is_honoured_by_the_list_its_exports_and_the_api(viewer_client, calls):
    names = {call_id: name for name, call_id in calls.items()}
    for query, expected in FILTERS:  # one login for all (scrypt is slow on purpose)
        page = viewer_client.get(f"/?{query}").get_data(as_text=True)
        assert {name for call_id, name in names.items() if f'data-call="{call_id}"' in page} == expected, query
        exported = viewer_client.get(f"/calls/export.csv?{query}").get_data(as_text=True).lstrip("\ufeff")
        assert {names[int(row["id"])] for row in csv.DictReader(io.StringIO(exported))} == expected, query
        assert {names[row["id"]] for row in viewer_client.get(f"/calls/export.json?{query}").get_json()} == expected
        api = viewer_client.get(f"/api/calls?{query}").get_json()
        assert {names[row["id"]] for row in api["calls"]} == expected and api["total"] == len(expected), query


def test_the_voicemail_csv_holds_no_voice_notes(viewer_client, calls):
    page = viewer_client.get("/?kind=voicemail").get_data(as_text=True)
    assert 'href="/calls/export.csv?kind=voicemail&amp;sort=start&amp;dir=desc"' in page
    answer = viewer_client.get("/calls/export.csv?kind=voicemail")
    assert "voicemail-start-now.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["kind"] for row in rows] == ["voicemail"]


def test_an_empty_result_offers_to_clear_the_filters_and_no_export(viewer_client, calls):
    page = viewer_client.get("/?kind=voicemail&speaker=nobody").get_data(as_text=True)
    assert "No calls match these filters." in page and "No calls yet." not in page
    assert '<a class="clear-filters" href="/?kind=voicemail">Clear filters</a>' in page
    assert "export.csv" not in page and "export.json" not in page


def test_a_list_without_calls_says_so(viewer_client):
    page = viewer_client.get("/").get_data(as_text=True)
    assert "No calls yet." in page and "clear-filters" not in page


def test_a_filter_it_cannot_use_is_a_readable_4xx_or_ignored_never_a_500(viewer_client, calls):
    for query in ("keyword=%22unclosed", "keyword=AND", "longer=soon&shorter=1:xx", "longer=nan", "direction=up",
                  "extension=" + "9" * 200):
        for path in ("/", "/calls/export.csv", "/calls/export.json", "/api/calls"):
            assert viewer_client.get(f"{path}?{query}").status_code in (200, 400), (path, query)
    page = viewer_client.get("/?keyword=%22unclosed")
    assert page.status_code == 400 and 'role="alert"' in page.get_data(as_text=True)


# --- search: calls, not turns -----------------------------------------------------------------


def test_search_groups_hits_by_call_with_their_best_snippets(viewer_client, calls):
    page = viewer_client.get("/search?q=invoice").get_data(as_text=True)
    assert page.count('<li class="call-hits">') == 2  # the call says it twice, the note once
    assert page.count(f'data-call="{calls["invoice"]}"') == 2


def test_a_number_or_a_name_finds_the_calls_of_it(viewer_client, calls):
    page = viewer_client.get("/search?q=%2B49 30 111").get_data(as_text=True)
    listed = page.split('class="party-calls"')[1].split("</ul>")[0]
    assert f'/calls/{calls["invoice"]}"' in listed and f'/calls/{calls["voicemail"]}"' in listed
    assert f'/calls/{calls["delivery"]}"' not in listed
    named = viewer_client.get("/search?q=Anna").get_data(as_text=True).split('class="party-calls"')[1]
    assert f'/calls/{calls["invoice"]}"' in named.split("</ul>")[0]


def test_a_typo_offers_the_word_the_transcripts_hold(viewer_client, calls):
    page = viewer_client.get("/search?q=invoise").get_data(as_text=True)
    assert 'Did you mean <a href="/search?q=invoice' in page
    assert "Did you mean" not in viewer_client.get("/search?q=invoice").get_data(as_text=True)
    assert "Did you mean" not in viewer_client.get("/search?q=xylophone").get_data(as_text=True)


def test_a_typo_is_not_corrected_into_a_word_only_calls_out_of_scope_hold(app, store, calls):
    from appliance.store.scopes import entry
    from support.web import hashed, login

    agent = store.users.add("agnes", hashed("agnes-pass-12345"), "agent")
    store.users.set_scope_entries(agent.id, [entry("extension", "202")])  # the delivery call only
    client = app.test_client()
    login(client, "agnes", "agnes-pass-12345")
    assert "Did you mean" not in client.get("/search?q=invoise").get_data(as_text=True)
    assert 'Did you mean <a href="/search?q=delivery' in client.get("/search?q=delivry").get_data(as_text=True)


def test_the_exports_name_the_parties_as_the_list_does(viewer_client, store, calls):
    store.contacts.save([("+49 30 111", "Anna Berg GmbH"), ("201", "Reception")])
    assert "Anna Berg GmbH (+49 30 111)" in viewer_client.get("/?direction=inbound").get_data(as_text=True)
    exported = viewer_client.get("/calls/export.csv?direction=inbound").get_data(as_text=True).lstrip("\ufeff")
    (row,) = csv.DictReader(io.StringIO(exported))
    assert (row["caller_name"], row["callee_name"], row["speakers"]) == ("Anna Berg GmbH", "Reception", "Anna Berg; Agent")
    (listed,) = viewer_client.get("/calls/export.json?direction=inbound").get_json()
    assert (listed["caller_name"], listed["callee_name"]) == ("Anna Berg GmbH", "Reception")
    # A number without a name: an empty cell, null in JSON.
    exported = viewer_client.get("/calls/export.csv?direction=outbound").get_data(as_text=True).lstrip("\ufeff")
    assert [r["callee_name"] for r in csv.DictReader(io.StringIO(exported))] == [""]
    assert viewer_client.get("/calls/export.json?direction=outbound").get_json()[0]["callee_name"] is None


def test_a_saved_filter_is_listed_applied_and_deleted_by_its_owner_only(viewer_client, admin_client, store, calls):
    page = viewer_client.get("/?direction=inbound&page=2&secret=x").get_data(as_text=True)
    assert "Save this filter as" in page
    answer = post(viewer_client, "/filters", {"name": "  Inbound   calls ", "query": "direction=inbound&page=2&secret=x"},
                  token_from="/?direction=inbound")
    # Only the list's own keys are kept; the list opens with the filter applied.
    assert answer.status_code == 302 and answer.headers["Location"] == "/?direction=inbound"
    (saved,) = store.saved_filters.of(store.users.by_name("vic").id)
    assert (saved.name, saved.query) == ("Inbound calls", "direction=inbound")
    listed = viewer_client.get("/").get_data(as_text=True)
    assert 'href="/?direction=inbound">Inbound calls</a>' in listed
    # Another user neither sees it nor deletes it; nothing changes without the CSRF token.
    assert "Inbound calls" not in admin_client.get("/").get_data(as_text=True)
    assert post(admin_client, f"/filters/{saved.id}/delete").status_code == 404
    assert viewer_client.post(f"/filters/{saved.id}/delete").status_code == 400
    assert viewer_client.post("/filters", data={"name": "x", "query": "kind=note"}).status_code == 400
    # A name that is none is a readable 400.
    refused = post(viewer_client, "/filters", {"name": "   ", "query": "kind=note"})
    assert refused.status_code == 400 and "printable characters" in refused.get_data(as_text=True)
    assert post(viewer_client, f"/filters/{saved.id}/delete").status_code == 302
    assert store.saved_filters.of(store.users.by_name("vic").id) == []
    # They go with their user.
    vic = store.users.by_name("vic").id
    store.saved_filters.save(vic, "Notes", "kind=note")
    store.users.delete(vic)
    assert store.saved_filters.of(vic) == []


def test_bulk_actions_take_the_ticked_calls_with_the_single_actions_checks_and_audit(
        viewer_client, admin_client, store, calls):
    ticked = {"id": [str(calls["invoice"]), str(calls["delivery"])]}
    page = admin_client.get("/").get_data(as_text=True)
    assert f'name="id" value="{calls["invoice"]}" form="bulk"' in page and 'action="/calls/bulk/export"' in page
    # Export: the ticked calls' CSV, each audited as an export of that call.
    exported = post(admin_client, "/calls/bulk/export", ticked).get_data(as_text=True).lstrip("\ufeff")
    assert sorted(int(row["id"]) for row in csv.DictReader(io.StringIO(exported))) == sorted(
        (calls["invoice"], calls["delivery"]))
    assert {e.target for e in store.audit.entries(action="export")} >= {f"call {calls['invoice']}",
                                                                      f"call {calls['delivery']}"}
    # Hold and delete are the admin's, and nothing goes without the CSRF token.
    assert post(viewer_client, "/calls/bulk/hold", ticked).status_code == 403
    assert post(viewer_client, "/calls/bulk/delete", {**ticked, "confirm": "1"}).status_code == 403
    assert admin_client.post("/calls/bulk/delete", data={**ticked, "confirm": "1"}).status_code == 400
    assert post(admin_client, "/calls/bulk/hold", {"id": "nothing"}).status_code == 400
    assert post(admin_client, "/calls/bulk/hold", {"id": str(calls["invoice"])}).status_code == 302
    # Delete asks first, naming each call; a call under legal hold is kept.
    confirm = post(admin_client, "/calls/bulk/delete", ticked)
    assert confirm.status_code == 200 and "Delete these 2 calls?" in confirm.get_data(as_text=True)
    assert store.calls.count() == 4
    done = post(admin_client, "/calls/bulk/delete", {**ticked, "confirm": "1", "back": "direction=inbound"})
    assert done.status_code == 302 and done.headers["Location"] == "/?direction=inbound"
    assert sorted(c.id for c in store.calls.page()) == sorted((calls["invoice"], calls["voicemail"], calls["note"]))
    assert [e.target for e in store.audit.entries(action="delete")] == [f"call {calls['delivery']}"]
    assert [e.target for e in store.audit.entries(action="hold")] == [f"call {calls['invoice']}"]
