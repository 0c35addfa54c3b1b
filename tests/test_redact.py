"""PII redaction: checksums decide what is a card or an IBAN, spoken digits count, and the
masked text is all the store and its search indexes ever hold."""

import sqlite3

import pytest

from appliance.errors import ConfigError
from appliance.nlp.numbers import digit_runs
from appliance.nlp.redact import iban_valid, luhn_valid, redact_for_site, redact_text, redact_transcript
from appliance.transcript.model import CallMeta, Transcript
from support.store import CALLER_AND_CALLEE
from support.web import talk

VISA = "4111 1111 1111 1111"  # Luhn-valid test number
VISA_TYPO = "4111 1111 1111 1112"  # one digit off: fails Luhn
IBAN = "DE89 3704 0044 0532 0130 00"  # the standard valid German example
IBAN_TYPO = "DE89 3704 0044 0532 0130 01"  # fails mod 97


def test_checksums():
    assert luhn_valid(VISA.replace(" ", "")) and not luhn_valid(VISA_TYPO.replace(" ", ""))
    assert iban_valid(IBAN) and not iban_valid(IBAN_TYPO)
    assert iban_valid("GB82 WEST 1234 5698 7654 32")


@pytest.mark.parametrize("said", [
    VISA, VISA.replace(" ", ""), VISA.replace(" ", "-"), " ".join(VISA.replace(" ", "")),
    "four one one one one one one one one one one one one one one one",
    "4111 1111, 1111 1111",
])
def test_a_valid_card_number_is_masked_however_whisper_writes_it(said):
    text = redact_text(f"My card number is {said}, thanks.")
    assert text == "My card number is [card], thanks."


def test_numbers_that_fail_their_checksum_are_left_alone():
    for text in (f"Parcel {VISA_TYPO} was returned.", f"Is the IBAN {IBAN_TYPO} right?"):
        assert redact_text(text) == text


@pytest.mark.parametrize("said", [
    f"My card number is {VISA_TYPO}, thanks.",
    "Meine Kreditkartennummer lautet 4111 1111 1111 111, danke.",  # a digit lost
    "Visa ending, um, 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 2 3, thanks.",  # a digit gained
])
def test_a_misheard_card_number_after_card_words_is_masked_all_the_same(said):
    assert "[card]" in redact_text(said) and "1111" not in redact_text(said)


def test_a_card_whose_first_digit_is_heard_as_a_word_is_masked_as_a_card():
    # "4" heard as "for": 15 digits left, failing Luhn and the size of a phone number.
    said = "My card number is for 0 2 4, 0 0 7 1, 2 3 4 5, 6 7 8 1. Please charge it today."
    assert redact_text(said) == "My card number is for [card]. Please charge it today."


@pytest.mark.parametrize("said", [
    "My card number is 40240071 and 23456781, thanks.",  # an IBAN checks out on the first groups
    f"Card {VISA}, 12 25, thanks.",  # the expiry right after the card
])
def test_a_mask_leaves_no_digits_of_the_number_beside_it(said):
    assert digit_runs(redact_text(said)) == [], redact_text(said)


def test_iban_phone_and_email_are_masked():
    text = redact_text(f"IBAN {IBAN}. Call +49 30 1234567 or write to jane.doe@example.com.")
    assert text == "IBAN [iban]. Call [phone] or write to [email]."
    assert redact_text("Write to jane dot doe at example dot com please.") == "Write to [email] please."


def test_dates_and_order_numbers_are_not_phone_numbers():
    text = "Order number 12345678 arrives on 12.05.2025."
    assert redact_text(text) == text


def test_only_the_chosen_kinds_are_masked():
    text = f"Card {VISA}, phone 030 1234567."
    assert redact_text(text, ("card",)) == "Card [card], phone 030 1234567."


def _transcript(lines):
    return Transcript("en", "faster-whisper", "base", 10.0, CALLER_AND_CALLEE, tuple(talk(lines)), CallMeta())


def test_words_and_turn_text_are_masked_together():
    transcript = redact_transcript(_transcript([(0, f"my card is {VISA} okay"), (1, "Thank you.")]))
    turn = transcript.turns[0]
    assert turn.text == "my card is [card] okay"
    assert "".join(w.word for w in turn.words).strip() == turn.text
    masked = [w for w in turn.words if "[card]" in w.word][0]
    # The mask keeps the time the number took.
    assert masked.start == pytest.approx(talk([(0, f"my card is {VISA} okay")])[0].words[3].start)
    assert transcript.turns[1].text == "Thank you."


def test_redaction_is_off_unless_the_site_switches_it_on(make_settings):
    transcript = _transcript([(0, f"my card is {VISA}")])
    assert redact_for_site(transcript, make_settings()) is transcript
    on = make_settings(redact_pii=True)
    assert "[card]" in redact_for_site(transcript, on).turns[0].text
    with pytest.raises(ConfigError, match="passport"):
        redact_for_site(transcript, make_settings(redact_pii=True, redact_kinds="card,passport"))


def test_masked_numbers_are_gone_from_turns_words_and_both_search_indexes(store, tmp_path, make_settings):
    # What the worker does: redact, then finish the job with the result.
    settings = make_settings(redact_pii=True)
    meta = CallMeta(uniqueid="1.1", caller="100", callee="200")
    transcript = redact_for_site(_transcript([(0, f"card {VISA} and IBAN {IBAN}"), (1, "mail me at a.b@example.com")]),
                                 settings)
    store.intake.enqueue(meta, [tmp_path / "1.1.raw"], {})
    job = store.jobs.claim("w", 60)
    assert store.jobs.finish(job.id, "w", transcript)

    conn = sqlite3.connect(store.path)
    rows = [r[0] for table in ("turns", "turns_fts", "turns_recent") for r in conn.execute(f"SELECT text FROM {table}")]
    rows += [r[0] for r in conn.execute("SELECT words FROM turns")]
    conn.close()
    assert rows and all("4111" not in r and "3704" not in r and "example" not in r for r in rows), rows
    assert any("[card]" in r for r in rows)
    assert store.search.hits("4111") == [] and store.search.hits('"0532 0130"') == []
    assert store.search.hits("card")  # the mask itself is what remains searchable
