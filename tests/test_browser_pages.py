"""Every page in a real browser (Debian's Chromium driven by Playwright) against a real
`appliance serve`: at phone width (390 × 844) no page is wider than the screen (the nav folds
away, lists become cards, tables scroll inside themselves); each page is photographed at desktop
(1280) and phone width into $APPLIANCE_ARTEFACTS (default test-artefacts/) for a person to look
at. The pages are found by walking the app's url_map, so a new page is checked without an edit.
The `browser` (one Chromium for the module) and `served` fixtures come from tests/support."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.transcript.model import CallMeta, Speaker
from appliance.web import create_app
from support.web import recorded_call, talk, write_wav

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
ROOT = Path(__file__).resolve().parents[1]


def artefacts() -> Path:
    folder = Path(os.environ.get("APPLIANCE_ARTEFACTS", ROOT / "test-artefacts")) / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def pages(served):
    """The site's pages: every GET route with real ids, plus lists with filters and a voicemail."""
    with served.store() as store:
        voicemail = recorded_call(store, [write_wav(served.data_dir / "recordings" / "box.wav", 2.0)],
                                  CallMeta(uniqueid="pages-vm", caller="+4930333444", callee="1000",
                                           kind="voicemail"),
                                  talk([(0, "please call me back about the delivery of the new furniture")]),
                                  (Speaker(0, "Caller", "caller"),)).call_id
        admin = store.users.by_name("admin").id
        live = store.live.start("pages-live", caller="+4930777", callee="201", direction="inbound")
    known = {"call_id": served.own_call, "live_id": live, "user_id": admin, "index": 0, "job_id": 1,
             "webhook_id": 1, "fmt": "txt"}
    app = create_app(settings=load_settings(Path("/dev/null"), environ={}, data_dir=served.data_dir,
                                            models_dir=served.data_dir / "models"))
    paths = {re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(known.get(m[1], 1)), rule.rule)
             for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and "<path:" not in rule.rule and not rule.rule.startswith(("/api/", "/worker/"))}
    return sorted(paths | {f"/calls/{voicemail}", "/?kind=voicemail", "/search?q=delivery", "/nirgends"})


@pytest.fixture(scope="module")
def phone(browser, served):
    context, page = _logged_in(browser, served, PHONE)
    yield page
    context.close()


@pytest.fixture(scope="module")
def desktop(browser, served):
    context, page = _logged_in(browser, served, DESKTOP)
    yield page
    context.close()


def _logged_in(browser, served, viewport: dict):
    context = browser.new_context(base_url=served.url, viewport=viewport, locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", served.passwords["admin"])
    page.click("form.login button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    return context, page


def _name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "calls"


def _visit(page, path: str) -> bool:
    """Open a page; False for what is no page (audio, exports, JSON, event streams)."""
    if path.endswith("/events") or "/audio" in path or "/export" in path or path == "/events":
        return False
    answer = page.goto(path, wait_until="load")
    return answer is not None and answer.headers.get("content-type", "").startswith("text/html")


def _photograph(page, name: str) -> None:
    # JPEG: a full page in PNG costs seconds of CPU each on a loaded two-core machine.
    page.screenshot(path=artefacts() / f"{name}.jpg", full_page=True, type="jpeg", quality=70)


def test_no_page_is_wider_than_a_phone_and_each_is_photographed(phone, desktop, pages):
    wide, seen = [], []
    for path in pages:
        if not _visit(phone, path):
            continue
        seen.append(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide.append(f"{path}: {width} px")
        _photograph(phone, f"{_name(path)}-390")
        _visit(desktop, path)
        _photograph(desktop, f"{_name(path)}-1280")
    assert not wide, "wider than the phone's 390 px:\n" + "\n".join(wide)
    assert len(seen) > 15, seen


def test_the_nav_folds_away_on_a_phone_and_opens_with_its_button(phone, desktop):
    phone.goto("/")
    nav = phone.locator("header.top nav")
    assert not nav.is_visible()
    phone.click("label.nav-toggle")
    assert nav.is_visible() and phone.locator("header.top nav a").first.is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _photograph(phone, "nav-open-390")
    # A list is a pile of cards: no table header, each call a card of its own.
    assert not phone.locator("table.calls thead").is_visible()
    assert phone.locator("table.calls tbody tr").first.evaluate("row => getComputedStyle(row).display") == "block"
    desktop.goto("/")
    assert desktop.locator("header.top nav").is_visible() and not desktop.locator("label.nav-toggle").is_visible()


def test_the_voicemail_list_is_a_pile_of_labelled_cards_on_a_phone(phone, desktop, pages):
    phone.goto("/?kind=voicemail")
    assert not phone.locator("table.messages thead").is_visible()
    card = phone.locator("table.messages tbody tr").first
    assert card.evaluate("row => getComputedStyle(row).display") == "block"
    # The hidden column heads are said on the card instead.
    assert card.locator(".card-label", has_text="Mailbox").is_visible()
    assert "1000" in card.inner_text() and "Call back" in card.inner_text()
    _photograph(phone, "voicemail-cards-390")
    desktop.goto("/?kind=voicemail")
    assert desktop.locator("table.messages thead").is_visible()
    assert not desktop.locator("table.messages .card-label").first.is_visible()
