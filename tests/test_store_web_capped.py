"""The search page with more hits than count_search counts."""

from support.store import finished_call

from appliance.store import search
from appliance.transcript.model import CallMeta


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_capped_count_reads_more_than(viewer_client, store, tmp_path, monkeypatch):
    lines = [(n % 2, f"Rechnung Nummer {n}") for n in range(4)] + [(0, "Rechnung")]
    finished_call(store, tmp_path, CallMeta(uniqueid="1.1", caller="+49 30 1234567"), lines)
    assert "5 matches" in _page(viewer_client, "/search?q=rechnung")
    monkeypatch.setattr(search, "SEARCH_COUNT_CAP", 4)
    assert "5 matches" not in _page(viewer_client, "/search?q=rechnung")
    assert "more than 4 matches" in _page(viewer_client, "/search?q=rechnung")
    exact = _page(viewer_client, "/search?q=nummer")
    assert "4 matches" in exact and "more than" not in exact
    assert "3 matches" in _page(viewer_client, "/search?q=rechnung&role=caller")
