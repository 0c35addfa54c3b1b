"""The address book against a real `appliance serve` (tests/support/served.py): only admins keep it,
bad numbers, names and files get a readable 400 and save nothing, and a name reaches every
call of its number (page, list, export, search); naming a number for all its calls from a call
page needs a user who sees and may edit every call.
"""

from __future__ import annotations

import pytest

from appliance.transcript.model import CallMeta, Speaker
from support.web import recorded_call, talk, write_wav


@pytest.fixture(scope="module")
def numbered(served):
    """A call whose speakers carry their numbers, as the pipeline labels them."""
    with served.store() as store:
        return recorded_call(store, [write_wav(served.data_dir / "recordings" / "numbered.wav", 4.0)],
                             CallMeta(uniqueid="contacts-1", caller="+49 30 777", callee="203"),
                             talk([(0, "is the clinic open today"), (1, "yes until six")]),
                             (Speaker(0, "+49 30 777", "caller"), Speaker(1, "203", "callee"))).call_id


def names(served):
    with served.store() as store:
        return [(c.number, c.name) for c in store.contacts.all()]


def test_only_admins_reach_the_address_book(served):
    for user in ("vic", "agent"):
        browser = served.login(user)
        assert browser.get("/admin/contacts").status == 403
        assert browser.post("/admin/contacts", {"number": "201", "name": "Mallory"}, token_from="/").status == 403
        assert browser.post_file("/admin/contacts/upload", "file", "c.csv", b"201,Mallory\n").status == 403
        assert browser.post("/admin/contacts/phones", {}).status == 403
    assert names(served) == []


@pytest.mark.parametrize("number, name", [("", "Anna"), ("call me", "Anna"), ("201", ""), ("201", "x" * 81),
                                          ("1" * 60, "Anna"), ("201", "a\x07b")])
def test_a_bad_contact_gets_a_readable_400(served, number, name):
    admin = served.login("admin")
    answer = admin.post("/admin/contacts", {"number": number, "name": name}, token_from="/admin/contacts")
    assert answer.status == 400
    assert "A contact needs a phone number or extension" in answer.text
    assert names(served) == []


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"just one column\n", b"201,Anna\nnot a number,Bob\n",
                                     b"number,name\n" + b"201,A\n" * 10_001])
def test_a_bad_csv_file_gets_a_readable_400_and_imports_nothing(served, content):
    admin = served.login("admin")
    answer = admin.post_file("/admin/contacts/upload", "file", "contacts.csv", content, token_from="/admin/contacts")
    assert answer.status == 400, answer.text[:300]
    assert "Nothing was imported" in answer.text or "Upload a CSV file" in answer.text
    assert names(served) == []


def test_a_csv_upload_names_the_calls_of_its_numbers_everywhere(served, numbered):
    admin = served.login("admin")
    csv = "number,name\n+4930777,Dental Clinic Mitte\n203,Accounts\n".encode()
    answer = admin.post_file("/admin/contacts/upload", "file", "contacts.csv", csv, token_from="/admin/contacts")
    assert answer.status == 302
    assert sorted(names(served)) == [("+4930777", "Dental Clinic Mitte"), ("203", "Accounts")]
    with served.store() as store:
        entry = store.audit.entries(action="save-contacts", limit=1)[0]
    assert entry.detail == "2 from csv" and "777" not in (entry.detail + (entry.target or ""))

    assert "Dental Clinic Mitte (+49 30 777)" in admin.get("/").text  # the list
    page = admin.get(f"/calls/{numbered}").text
    assert "Dental Clinic Mitte (+49 30 777) → Accounts (203)" in page
    assert 'class="who">Dental Clinic Mitte<' in page  # the transcript
    export = admin.get(f"/calls/{numbered}/export/txt").text
    assert "Dental Clinic Mitte: is the clinic open today" in export and "Accounts: yes until six" in export
    assert f"/calls/{numbered}#t=" in admin.get("/search?q=Mitte").text


def test_the_phones_of_the_box_become_contacts(served):
    admin = served.login("admin")
    assert admin.post("/admin/contacts/phones", {}, token_from="/admin/contacts").status == 302
    assert ("100", "Reception") in names(served) and ("101", "Office") in names(served)


def test_naming_a_number_for_all_its_calls_needs_a_user_who_sees_every_call(served):
    agent = served.login("agent")  # may see extension 201's calls only
    with served.store() as store:
        store.users.set_may_edit(store.users.by_name("agent").id, True)
    answer = agent.post(f"/calls/{served.own_call}/speakers/0", {"label": "Mallory", "all_calls": "1"}, token_from="/")
    assert answer.status == 403
    assert ("201", "Mallory") not in names(served)
    vic = served.login("vic")
    page = vic.get(f"/calls/{served.own_call}").text
    assert 'name="all_calls"' in page
    assert vic.post(f"/calls/{served.own_call}/speakers/0", {"label": "Front desk", "all_calls": "1"},
                    token_from="/").status == 302
    assert ("201", "Front desk") in names(served)
