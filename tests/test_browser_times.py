"""The calls list and search in a real browser (Debian's Chromium driven by Playwright) against a
real `appliance serve` whose site zone is Europe/Berlin: a call Asterisk gave a +01:00 start
shows that local time, in a user's own zone once they pick one; the newest call is on top,
columns sort both ways with the direction in the URL, and the CSV export says what the page
says, filters included; search finds the calls of a number, offers the word for a typo and
marks the searched word on the call it opens; a voicemail is new until opened, with a call-back
link."""

from __future__ import annotations

import csv
import io
import re

import pytest

from appliance.transcript.model import CallMeta
from support.served import served_with
from support.browser import artifacts_dir
from support.web import recorded_call, talk, write_wav

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture says what is missing
    expect = None

served = served_with(TIMEZONE="Europe/Berlin")
NUMBER = "+49 30 999"
# Ingested oldest-id first in this order, so the id order is not the call order.
STARTS = {"middle": "2026-12-02T09:10:00+01:00", "newest": "2026-12-02T10:30:00+01:00",
          "oldest": "2026-11-28T16:00:00+00:00"}


@pytest.fixture(scope="module")
def calls(served):
    ids = {}
    with served.store() as store:
        for n, (name, start) in enumerate(STARTS.items()):
            wav = write_wav(served.data_dir / "recordings" / f"times-{name}.wav", 2.0)
            lines = [(i % 2, f"line {i} of the {name} call") for i in range(n + 1)]
            ids[name] = recorded_call(store, [wav], CallMeta(uniqueid=f"times-{name}", caller=f"{NUMBER} {n}",
                                                             callee="200", started_at=start), talk(lines)).call_id
    return ids


@pytest.fixture(scope="module")
def page(browser, served):
    """Vic logged in once for the module (a login costs a second of scrypt)."""
    context = browser.new_context(base_url=served.url, locale="en-US", viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    # Logged in onto the account page: the calls list reloads itself when new calls arrive.
    page.goto("/login?next=/account")
    page.fill("input[name=username]", "vic")
    page.fill("input[name=password]", served.passwords["vic"])
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/account")
    yield page
    context.close()


def _listed(page) -> list[tuple[str, str]]:
    """(time, caller) of each row of the list, top to bottom (Babel writes "9:10\u202fAM")."""
    return [(row.locator("td").nth(1).inner_text().replace("\u202f", " "), row.locator("td").nth(2).inner_text())
            for row in page.locator("table.calls tbody tr[data-call]").all()]


def _csv(page) -> list[dict]:
    """The rows of the list's CSV export; callers without the apostrophe that keeps "+49…" no formula."""
    with page.expect_download() as download:
        page.locator("p.exports a", has_text="CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    return [{**row, "caller": row["caller"].removeprefix("'")} for row in rows]


def test_the_list_shows_local_times_newest_first_and_the_csv_agrees(page, calls):
    page.goto(f"/?number={NUMBER}")
    assert _listed(page) == [("Dec 2, 2026, 10:30:00 AM", f"{NUMBER} 1"), ("Dec 2, 2026, 9:10:00 AM", f"{NUMBER} 0"),
                             ("Nov 28, 2026, 5:00:00 PM", f"{NUMBER} 2")]
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile("^Time"))
    page.screenshot(path=artifacts_dir() / "calls-local-times.png", full_page=True)
    rows = _csv(page)
    assert [(r["started_at"], r["caller"]) for r in rows] == [
        ("2026-12-02T10:30:00+01:00", f"{NUMBER} 1"), ("2026-12-02T09:10:00+01:00", f"{NUMBER} 0"),
        ("2026-11-28T17:00:00+01:00", f"{NUMBER} 2")]

    page.goto(f"/calls/{calls['middle']}")
    meta = page.locator("p.meta").first
    expect(meta).to_contain_text("December 2, 2026")
    expect(meta).to_contain_text(re.compile(r"9:10:00\s+AM Central European Standard Time"))
    assert "Coordinated Universal Time" not in page.content()


def test_columns_sort_both_ways_and_keep_the_direction_in_the_url(page, calls):
    page.goto(f"/?number={NUMBER}")
    page.locator("th a.sort", has_text="Duration").click()
    page.wait_for_url(re.compile(r"sort=duration&dir=desc"))
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile("^Duration"))
    assert [caller for _, caller in _listed(page)] == [f"{NUMBER} 2", f"{NUMBER} 1", f"{NUMBER} 0"]
    page.locator("th a.sort", has_text="Duration").click()
    page.wait_for_url(re.compile(r"sort=duration&dir=asc"))
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("^Duration"))
    assert [caller for _, caller in _listed(page)] == [f"{NUMBER} 0", f"{NUMBER} 1", f"{NUMBER} 2"]
    # Filtering again keeps the order; the export follows it.
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"dir=asc"))
    assert [r["caller"] for r in _csv(page)] == [f"{NUMBER} 0", f"{NUMBER} 1", f"{NUMBER} 2"]


def test_a_users_own_time_zone_applies_to_pages_and_exports(page, calls):
    page.goto("/account")
    page.select_option("select[name=timezone]", "America/New_York")
    page.locator("form", has=page.locator("select[name=timezone]")).locator("button[type=submit]").click()
    page.wait_for_url("**/account")
    try:
        page.goto(f"/?number={NUMBER}")
        assert _listed(page)[1] == ("Dec 2, 2026, 3:10:00 AM", f"{NUMBER} 0")
        assert _csv(page)[1]["started_at"] == "2026-12-02T03:10:00-05:00"
        page.goto(f"/calls/{calls['middle']}")
        expect(page.locator("p.meta").first).to_contain_text(re.compile(r"3:10:00\s+AM Eastern Standard Time"))
    finally:
        page.goto("/account")
        page.select_option("select[name=timezone]", "")
        page.locator("form", has=page.locator("select[name=timezone]")).locator("button[type=submit]").click()
        page.wait_for_url("**/account")
    page.goto(f"/?number={NUMBER}")
    assert _listed(page)[1][0] == "Dec 2, 2026, 9:10:00 AM"  # the site's zone again


def test_a_filter_is_honoured_by_the_csv_export(page, calls):
    page.goto(f"/?number={NUMBER}")
    page.fill("input[name=longer]", "0:04")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"longer=0%3A04"))
    assert [caller for _, caller in _listed(page)] == [f"{NUMBER} 2"]  # 5.5 s; the others 1.5 and 3.5 s
    assert [r["caller"] for r in _csv(page)] == [f"{NUMBER} 2"]
    page.fill("input[name=speaker]", "nobody")
    page.click("form.filters button[type=submit]")
    expect(page.locator("td.empty")).to_contain_text("No calls match these filters.")
    expect(page.locator("p.exports")).to_have_count(0)
    page.click("a.clear-filters")
    expect(page.locator("table.calls tbody tr[data-call]").first).to_be_visible()


def test_search_lists_the_calls_of_a_number_offers_a_word_for_a_typo_and_marks_it(page, calls):
    page.goto("/search?q=" + NUMBER.replace("+", "%2B") + " 0")
    expect(page.locator("ul.party-calls li")).to_have_count(1)
    expect(page.locator("ul.party-calls li")).to_contain_text(f"{NUMBER} 0")
    page.goto("/search?q=midle")
    suggestion = page.locator("p.did-you-mean a")
    expect(suggestion).to_have_text("middle")
    suggestion.click()
    page.wait_for_url(re.compile(r"q=middle"))
    hit = page.locator("ol.hits li a[data-call]").first
    expect(hit.locator(".snippet mark")).to_have_text("middle")
    hit.click()
    page.wait_for_url(re.compile(rf"/calls/{calls['middle']}#t="))
    expect(page.locator("#transcript .w.hit").first).to_have_text("middle")
    page.screenshot(path=artifacts_dir() / "search-term-marked.png", full_page=True)


def test_a_voicemail_is_new_until_opened_and_offers_a_call_back(page, served):
    with served.store() as store:
        wav = write_wav(served.data_dir / "recordings" / "times-voicemail.wav", 2.0)
        call_id = recorded_call(store, [wav], CallMeta(uniqueid="times-vm", caller="+49 30 777", callee="201",
                                                       kind="voicemail", started_at="2026-12-02T12:00:00+01:00"),
                                talk([(0, "please call me back")])).call_id
    page.goto("/?kind=voicemail")
    row = page.locator(f"tr[data-call='{call_id}']")
    expect(row.locator(".badge.new")).to_be_visible()
    expect(row.locator("a.call-back")).to_have_attribute("href", "tel:+4930777")
    expect(row.locator("td.message")).to_have_text("please call me back")
    page.screenshot(path=artifacts_dir() / "voicemail-list.png", full_page=True)
    row.locator("a", has_text="Dec 2, 2026").click()
    page.wait_for_url(f"**/calls/{call_id}")
    page.goto("/?kind=voicemail")
    expect(page.locator(f"tr[data-call='{call_id}'] .heard")).to_be_visible()
