"""The LAN CRM names callers: a webhook the admin marked as address-book source answers the POST
about a call with JSON naming numbers, and those names show on every call of the numbers, past
and future, as the address book's other names do. A name a person gave stays; an earlier CRM
name is updated; an answer that is too big, not JSON or hostile names nobody, and the delivery
still counts as sent with a note saying why. Real `appliance serve`, real HTTP receiver, real
store; the deliveries run as the scheduler runs them."""

from __future__ import annotations

import html
import http.server
import json
import re
import threading

import pytest

from appliance.nlp.stage import run_pending
from appliance.transcript.model import CallMeta
from appliance.webhooks import delivery
from support.web import audit_actions, post, recorded_call, talk, write_wav


# The CRM listens on 127.0.0.1, which a real box refuses: the shared switch (conftest) for every test.
pytestmark = pytest.mark.usefixtures("loopback_is_lan")


class CRM(http.server.BaseHTTPRequestHandler):
    """Answers the POST about call N with `answers[N]` (content type, body); 204 otherwise."""

    answers: dict = {}

    def do_POST(self):
        sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content_type, body = self.answers.get(sent["call_id"], (None, b""))
        self.send_response(200 if body else 204)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def crm(served):
    """The CRM listening on loopback, a name-source webhook (saved in the store: the server
    refuses a loopback URL; test_the_admin_marks_a_webhook_as_name_source uses the form)."""
    CRM.answers = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CRM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with served.store() as store:
        store.webhooks.save(None, "Praxis-CRM", f"http://127.0.0.1:{server.server_address[1]}/hook", "s3cret",
                            ("call",), True, name_source=True)
    yield served, served.login("admin")
    server.shutdown()
    server.server_close()


def a_call(served, uniqueid: str, caller: str, answer: dict | tuple | None = None) -> int:
    """A transcribed call from `caller` to 201; the CRM will answer `answer` about it (a dict as
    JSON, or (content type, bytes) as they are)."""
    with served.store() as store:
        call = recorded_call(store, [write_wav(served.data_dir / "recordings" / f"{uniqueid}.wav", 2.0)],
                             CallMeta(uniqueid=uniqueid, caller=caller, callee="201"),
                             talk([(0, "hello I am calling about my appointment"), (1, "one moment please")])).call_id
    if answer is not None:
        CRM.answers[call] = (("application/json; charset=utf-8", json.dumps(answer).encode())
                             if isinstance(answer, dict) else answer)
    return call


def deliver(served, settings) -> None:
    """What the worker's scheduler does: analyse the new calls (which queues their webhook
    deliveries), then send what is due."""
    with served.store() as store:
        run_pending(store, settings)
        delivery.deliver_due(store, settings)


def row(page: str, call: int) -> str:
    match = re.search(rf'<tr[^>]*data-call="{call}".*?</tr>', page, re.S)
    assert match, f"call {call} is not listed"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match[0])))


def note_of(served, call: int) -> tuple[str, str]:
    """The state of the call's delivery and the note the log keeps on the CRM's answer."""
    with served.store() as store:
        [sent] = store.webhooks.deliveries(call_id=call)
    return sent.state, sent.note


def test_the_crms_name_shows_on_the_call_and_on_an_earlier_call_of_the_number(crm, settings):
    served, admin = crm
    earlier = a_call(served, "weber-1", "+49305550101")
    deliver(served, settings)  # the CRM knew nobody then
    assert "Praxis" not in row(admin.get("/").text, earlier)

    call = a_call(served, "weber-2", "+49 30 555 0101", {"caller_name": "Praxis Dr. Weber"})
    deliver(served, settings)
    listed = admin.get("/").text
    assert "Praxis Dr. Weber (+49 30 555 0101)" in row(listed, call)
    assert "Praxis Dr. Weber (+49305550101)" in row(listed, earlier)  # the same number, written otherwise
    assert "Praxis Dr. Weber" in admin.get(f"/calls/{earlier}").text
    later = a_call(served, "weber-3", "+49-30-5550101")
    assert "Praxis Dr. Weber" in row(admin.get("/").text, later)

    assert note_of(served, call) == ("sent", "names taken: 1 (new or changed in the address book: 1)")
    assert "Names taken: 1 (new or changed in the address book: 1)." in html.unescape(admin.get("/admin/webhooks").text)
    book = admin.get("/admin/contacts").text
    assert re.search(r'data-contact="\+49305550101">.*?Praxis Dr\. Weber.*?<td>CRM</td>', book, re.S)
    with served.store() as store:
        [entry] = audit_actions(store, "crm-names")
    assert (entry.target, entry.detail) == ("webhook Praxis-CRM", "1 from the CRM")  # how many, never which numbers


def test_a_later_answer_updates_the_crms_name_but_a_name_given_by_hand_stays(crm, settings):
    served, admin = crm
    assert admin.post("/admin/contacts", {"number": "+49 30 555 0202", "name": "Anna Schmidt"},
                      token_from="/admin/contacts").status == 302
    first = a_call(served, "list-1", "+4930 5550303", {"contacts": [
        {"number": "+49 (30) 555-0202", "name": "CRM says Schmidt"},
        {"number": "+4930 5550303", "name": "Weber GmbH"}]})
    deliver(served, settings)
    second = a_call(served, "list-2", "+4930 5550303", {"caller_name": "Weber GmbH & Co. KG"})
    hand = a_call(served, "hand-1", "+49 30 555 0202", {"caller_name": "CRM says Schmidt"})
    deliver(served, settings)

    listed = admin.get("/").text
    assert "Weber GmbH & Co. KG" in row(listed, first) and "Weber GmbH & Co. KG" in row(listed, second)
    assert "Anna Schmidt" in row(listed, hand) and "CRM says" not in listed
    assert note_of(served, first) == ("sent", "names taken: 2 (new or changed in the address book: 1)")
    assert note_of(served, hand) == ("sent", "names taken: 1 (new or changed in the address book: 0)")
    with served.store() as store:
        book = {c.digits: (c.name, c.source) for c in store.contacts.all()}
    assert book["+49305550202"] == ("Anna Schmidt", "manual")
    assert book["+49305550303"] == ("Weber GmbH & Co. KG", "crm")


JSON = "application/json"
NESTED = b"[" * 30_000 + b"]" * 30_000  # under the size cap, deeper than the parser's stack


@pytest.mark.parametrize("answer, why", [
    ((JSON, json.dumps({"contacts": [{"number": f"+4930{i:07}", "name": "x" * 60} for i in range(900)]}).encode()),
     "the answer is over 64 KiB"),
    (("text/html", b"<html><body>OK</body></html>"), "the answer is not JSON (Content-Type text/html)"),
    ((None, b'{"caller_name": "Praxis"}'), "the answer is not JSON (Content-Type -)"),
    ((JSON, b'{"caller_name": "Praxis'), "the answer is not valid JSON in UTF-8"),
    ((JSON, b'{"caller_name": "Pr\xe4xis"}'), "the answer is not valid JSON in UTF-8"),
    ((JSON, NESTED), "the answer is not valid JSON in UTF-8"),
    ((JSON, b'["Praxis"]'), 'the answer is not an object with "caller_name", "callee_name" or "contacts"'),
    ((JSON, b'{"status": "ok"}'), 'the answer is not an object with "caller_name", "callee_name" or "contacts"'),
    ((JSON, b'{"contacts": {"number": "+4930", "name": "x"}}'), "not an object with"),
    ((JSON, json.dumps({"contacts": [{"number": "+4930", "name": "x"}] * 501}).encode()),
     "the answer names more than 500 numbers"),
    ((JSON, json.dumps({"caller_name": "Praxis \u202egnuhcer"}).encode()), "caller_name: a number is"),
    ((JSON, json.dumps({"caller_name": "x" * 81}).encode()), "caller_name: a number is"),
    ((JSON, json.dumps({"caller_name": ["Praxis"]}).encode()), "caller_name: a number is"),
    ((JSON, json.dumps({"contacts": [{"number": "+4930 5550404", "name": "Fine"},
                                     {"number": "call me", "name": "Bad"}]}).encode()), "contacts[1]: a number is"),
    ((JSON, json.dumps({"contacts": [{"number": 4930555, "name": "Int"}]}).encode()), "contacts[0]: a number is"),
])
def test_an_answer_too_big_not_json_or_hostile_names_nobody_and_the_delivery_still_counts(crm, settings, answer, why):
    served, admin = crm
    with served.store() as store:
        before, imports = store.contacts.all(), len(audit_actions(store, "crm-names"))
    call = a_call(served, f"bad-{len(CRM.answers)}", "+49 30 555 0999", answer)
    deliver(served, settings)
    state, note = note_of(served, call)
    assert state == "sent" and note.startswith("no names taken: ") and why in note
    with served.store() as store:
        assert store.contacts.all() == before and len(audit_actions(store, "crm-names")) == imports
    shown = "No names taken: " + note.removeprefix("no names taken: ") + "."  # the note, as a sentence
    assert shown in html.unescape(admin.get("/admin/webhooks").text)
    assert "+49 30 555 0999 (" not in admin.get("/").text  # the number has no name


def test_the_webhook_page_and_the_crms_notes_are_german_for_a_german_admin(crm, settings):
    served, admin = crm
    a_call(served, "german-1", "+49 30 555 0505", ("text/plain", b"danke"))
    deliver(served, settings)
    with served.store() as store:
        store.users.set_locale(store.users.by_name("admin").id, "de")
    try:
        page = html.unescape(admin.get("/admin/webhooks").text)
        assert "Antwort als Adressbuch-Quelle verwenden" in page
        assert "Keine Namen übernommen: die Antwort ist kein JSON (Content-Type text/plain)." in page
        assert "das Nummern benennt: {&#34;caller_name&#34;" in admin.get("/admin/webhooks").text  # what it may answer
        book = admin.get("/admin/contacts").text
        assert "<th>Von</th>" in book and "<td>CRM</td>" in book and "<td>von Hand</td>" in book
    finally:
        with served.store() as store:
            store.users.set_locale(store.users.by_name("admin").id, "en")


def test_the_admin_marks_a_webhook_as_name_source(store, admin_client):
    form = {"name": "CRM", "url": "http://127.0.0.1:9/hook", "fields": ["call"], "enabled": "on"}
    marked = post(admin_client, "/admin/webhooks", {**form, "name_source": "on"}, token_from="/admin/webhooks")
    assert marked.status_code == 302
    [hook] = store.webhooks.all()
    assert hook.name_source
    page = admin_client.get("/admin/webhooks").get_data(as_text=True)
    assert re.search(r'<input type="checkbox" name="name_source" checked> use the answer as address-book source', page)
    unmarked = post(admin_client, "/admin/webhooks", {**form, "id": hook.id}, token_from="/admin/webhooks")
    assert unmarked.status_code == 302
    assert not store.webhooks.get(hook.id).name_source
