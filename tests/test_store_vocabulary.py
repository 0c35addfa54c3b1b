import pytest


def test_terms_are_kept_once_in_any_letter_case_and_listed_alphabetically(store):
    for term in ("Zimmermann", "Müller  GmbH", "acme", "ACME", " zimmermann "):
        store.add_vocabulary(term)
    assert store.vocabulary() == ["acme", "Müller GmbH", "Zimmermann"]


def test_removing_a_term_ignores_case_and_absent_terms(store):
    store.add_vocabulary("Acme")
    store.remove_vocabulary("ACME")
    store.remove_vocabulary("never added")
    assert store.vocabulary() == []


def test_a_blank_term_is_refused(store):
    with pytest.raises(ValueError, match="visible character"):
        store.add_vocabulary("   ")
