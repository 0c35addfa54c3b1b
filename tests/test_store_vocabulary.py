import pytest


def test_terms_are_kept_once_in_any_letter_case_and_listed_alphabetically(store):
    for term in ("Zimmermann", "Müller  GmbH", "acme", "ACME", " zimmermann "):
        store.vocabulary.add(term)
    assert store.vocabulary.all() == ["acme", "Müller GmbH", "Zimmermann"]


def test_removing_a_term_ignores_case_and_absent_terms(store):
    store.vocabulary.add("Acme")
    store.vocabulary.remove("ACME")
    store.vocabulary.remove("never added")
    assert store.vocabulary.all() == []


def test_a_blank_term_is_refused(store):
    with pytest.raises(ValueError, match="visible character"):
        store.vocabulary.add("   ")
