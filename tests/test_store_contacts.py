"""The address book in the store: a name given to a number reaches every call of that number,
past and future, in the transcript and in search; names people gave by hand stay."""

from __future__ import annotations

import pytest

from appliance.errors import NotAllowed
from appliance.store.scopes import Scope
from appliance.transcript.model import CallMeta, Speaker
from support.web import recorded_call, talk, write_wav

NUMBER = "+49 30 1234567"


def numbered_call(store, tmp_path, uniqueid: str, caller: str = NUMBER, callee: str = "201"):
    speakers = (Speaker(0, caller, "caller"), Speaker(1, callee, "callee"))
    return recorded_call(store, [write_wav(tmp_path / f"{uniqueid}.wav")], CallMeta(uniqueid=uniqueid, caller=caller, callee=callee),
                         talk([(0, "hello it is about my order"), (1, "one moment please")]), speakers).call_id


def labels(store, call_id):
    return [s.label for s in store.transcripts.get(call_id).speakers]


def test_a_name_reaches_past_and_future_calls_of_the_number_however_it_is_written(store, tmp_path):
    first = numbered_call(store, tmp_path, "c1")
    other = numbered_call(store, tmp_path, "c2", caller="+4989555")
    assert store.contacts.save([("+49301234567", "Anna Schmidt"), ("201", "Reception")]) == 2
    assert labels(store, first) == ["Anna Schmidt", "Reception"]
    assert labels(store, other) == ["+4989555", "Reception"]
    later = numbered_call(store, tmp_path, "c3", caller="+49 (30) 123-4567")
    assert labels(store, later) == ["Anna Schmidt", "Reception"]
    assert sorted({hit.call_id for hit in store.search.hits("Schmidt")}) == [first, later]
    assert store.contacts.names([NUMBER, "+4989555", None]) == {NUMBER: "Anna Schmidt"}


def test_a_new_name_replaces_the_old_one_but_not_a_name_given_by_hand(store, tmp_path):
    renamed_by_hand = numbered_call(store, tmp_path, "c1")
    store.transcripts.rename_speaker(renamed_by_hand, 0, "Mrs Schmidt from accounts")
    plain = numbered_call(store, tmp_path, "c2")
    store.contacts.save([(NUMBER, "Anna")])
    store.contacts.save([(NUMBER, "Anna Schmidt")])
    assert labels(store, plain)[0] == "Anna Schmidt"
    assert labels(store, renamed_by_hand)[0] == "Mrs Schmidt from accounts"
    assert [(c.number, c.name) for c in store.contacts.all()] == [(NUMBER, "Anna Schmidt")]


@pytest.mark.parametrize("number, name", [("", "x"), ("abc", "x"), ("1" * 41, "x"), ("201", ""), ("201", "x" * 81),
                                          ("201", "bad\x00name"), ("٣٣", "x")])
def test_numbers_and_names_a_person_must_fix_are_refused_and_nothing_is_saved(store, number, name):
    with pytest.raises(ValueError):
        store.contacts.save([("202", "Fine"), (number, name)])
    assert store.contacts.all() == []


def test_only_a_store_that_sees_and_may_edit_every_call_names_numbers(store):
    for scope in (Scope(extensions=frozenset({"201"}), may_edit=True), Scope(everything=True, may_edit=False)):
        with pytest.raises(NotAllowed):
            store.scoped(scope).contacts.save([("201", "Reception")])
    assert store.contacts.all() == []


def test_a_forgotten_contact_leaves_the_calls_named(store, tmp_path):
    call = numbered_call(store, tmp_path, "c1")
    store.contacts.save([(NUMBER, "Anna")])
    assert store.contacts.delete("+49301234567")
    assert store.contacts.all() == [] and labels(store, call)[0] == "Anna"


def test_a_voicemail_mail_names_the_caller_from_the_address_book(settings, store, tmp_path):
    from appliance.mail.voicemail import compose

    meta = CallMeta(uniqueid="vm-1", caller="+4930555", callee="201", kind="voicemail")
    call_id = recorded_call(store, [write_wav(tmp_path / "vm.wav")], meta, talk([(0, "call me back")]),
                            (Speaker(0, "+4930555", "speaker"),)).call_id
    store.contacts.save([("+49 30 555", "Anna Schmidt")])
    message = compose(settings, store.calls.get(call_id), store.transcripts.get(call_id), "box@example.org", "en", None)
    assert message["Subject"].startswith("Voicemail from Anna Schmidt (+4930555) (")


def test_a_crm_name_fills_a_gap_and_updates_its_own_but_never_a_persons(store, tmp_path):
    call = numbered_call(store, tmp_path, "c1")
    store.contacts.save([("201", "Reception")], "csv")
    assert store.contacts.save([(NUMBER, "Praxis"), ("201", "CRM reception")], "crm") == 1
    assert store.contacts.save([("+49301234567", "Praxis Dr. Weber")], "crm") == 1
    assert labels(store, call) == ["Praxis Dr. Weber", "Reception"]
    # A person saving the CRM's very name makes it theirs: the CRM no longer changes it.
    assert store.contacts.save([(NUMBER, "Praxis Dr. Weber")], "manual") == 1
    assert store.contacts.save([(NUMBER, "Praxis Weber GmbH")], "crm") == 0
    assert [(c.name, c.source) for c in store.contacts.all()] == [("Praxis Dr. Weber", "manual"), ("Reception", "csv")]
