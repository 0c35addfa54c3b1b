"""Property-based tests: whatever bytes arrive as a recording and whatever a person types into
search, the answer is a result or one of the appliance's own readable errors, never a crash."""

import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from appliance.audio import DecodeOptions, load_recording
from appliance.errors import BadAudio, BadQuery
from appliance.store import Store
from appliance.store.query import parse_query
from appliance.transcript.model import CallMeta
from support.store import finished_call

SUFFIXES = [".wav", ".raw", ".sln", ".sln16", ".sln48", ".ulaw", ".alaw", ".gsm", ".g722", ".mp3", ".ogg",
            ".flac", ".bin", ""]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wav_header(channels: int, rate: int, bits: int, data_size: int) -> bytes:
    """A RIFF/WAVE header whose fields may lie about what follows."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    return (b"RIFF" + struct.pack("<I", (36 + data_size) % 2**32) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", data_size))


def decode(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, (suffix, data) in enumerate(files):
            path = Path(folder) / f"rec{n}{suffix}"
            path.write_bytes(data)
            paths.append(path)
        try:
            audio = load_recording(paths, DecodeOptions(max_duration_seconds=60))
        except BadAudio as exc:
            assert str(exc)  # readable: says what is wrong
            return
        assert audio.channels and all(len(ch) == len(audio.channels[0]) for ch in audio.channels)


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_any_bytes_as_a_recording_decode_or_are_bad_audio(suffix, data):
    decode([(suffix, data)])


@FUZZ
@given(channels=st.integers(0, 9), rate=st.integers(0, 400_000), bits=st.sampled_from([0, 8, 16, 24, 32, 7]),
       claimed=st.integers(0, 2**32 - 1), body=st.binary(max_size=4096))
def test_wav_headers_that_lie_are_bad_audio_not_a_crash(channels, rate, bits, claimed, body):
    decode([(".wav", wav_header(channels, rate, bits, claimed) + body)])


@FUZZ
@given(pair=st.lists(st.tuples(st.sampled_from([".wav", ".raw", ".sln16", ".ulaw"]), st.binary(max_size=2048)),
                     min_size=0, max_size=3))
def test_any_set_of_files_as_a_recording_decodes_or_is_bad_audio(pair):
    decode(pair)


QUERY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
QUERY_PIECES = st.lists(st.one_of(
    QUERY_TEXT, st.sampled_from(['"', "*", "AND", "OR", "NOT", "(", ")", "NEAR", "^", ":", "-", "+49", "caller:",
                                 "{text}", "\\", "'", "\x00", "müller", "Müller*"])), max_size=8).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(query=st.one_of(QUERY_TEXT, QUERY_PIECES))
def test_any_typed_query_parses_or_is_a_bad_query(query):
    try:
        match = parse_query(query)
    except BadQuery as exc:
        assert str(exc)
        return
    assert match.strip()


@pytest.fixture(scope="module")
def search_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    store = Store(folder / "appliance.db")
    finished_call(store, folder, CallMeta(uniqueid="a", caller="+49 30 1234567", callee="200"),
                  [(0, "Guten Tag, hier ist Müller"), (1, "the invoice is paid, don't worry")])
    yield store
    store.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(QUERY_TEXT, QUERY_PIECES), role=st.sampled_from([None, "caller", "callee"]),
       number=st.one_of(st.none(), st.text(max_size=12)))
def test_any_typed_query_searches_or_is_a_bad_query(search_store, query, role, number):
    try:
        hits = search_store.search.hits(query, role=role, number=number)
        count = search_store.search.count(query, role=role, number=number)
    except BadQuery as exc:
        assert str(exc)
        return
    assert count >= len(hits)
