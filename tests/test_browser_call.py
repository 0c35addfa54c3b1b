"""The call page in a real browser (Debian's Chromium, Playwright) against a real `appliance serve`
(tests/support/served.py): the player that keeps up with the audio, its timeline and shortcuts.

A long call of its own (a tone, many turns) makes the page taller than the window, so that
scrolling, following and "Space does not scroll" mean something.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from appliance.transcript.model import CallMeta, Speaker
from support.web import hashed, recorded_call, talk, write_wav

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture says what is missing
    expect = None

TURNS = 24  # two seconds apart: a 48 s call, far taller than the window
READER_PASSWORD = "reader-pass-browser-1"


@pytest.fixture(scope="module")
def long_call(served):
    lines = [(i % 2, f"sentence number {i} about the delivery of parcel {i}") for i in range(TURNS)]
    with served.store() as store:
        done = recorded_call(store, [write_wav(served.data_dir / "recordings" / "long.wav", TURNS * 2.0)],
                             CallMeta(uniqueid="browser-long", caller="+4930555", callee="201"), talk(lines))
    return done.call_id


@pytest.fixture(scope="module")
def edit_call(served):
    """A short call whose fourth word the recogniser was unsure of."""
    turns = talk([(0, "please send the parcel to Lisbon"), (1, "the parcel goes out tomorrow morning")])
    words = list(turns[0].words)
    words[3] = dataclasses.replace(words[3], probability=0.2)  # "parcel"
    turns[0] = dataclasses.replace(turns[0], words=tuple(words))
    with served.store() as store:
        done = recorded_call(store, [write_wav(served.data_dir / "recordings" / "edit.wav", 4.0)],
                             CallMeta(uniqueid="browser-edit", caller="+4930666", callee="201"), turns)
    return done.call_id


@pytest.fixture(scope="module")
def reader(served):
    """A viewer of every call without the edit permission."""
    from appliance.store.scopes import entry

    with served.store() as store:
        user = store.users.add("reader", hashed(READER_PASSWORD), "viewer")
        store.users.set_scope_entries(user.id, [entry("all")])
    served.passwords["reader"] = READER_PASSWORD
    return "reader"


@pytest.fixture
def page_as(browser, served):
    contexts = []

    def open_as(username: str, height: int = 700):
        context = browser.new_context(base_url=served.url, locale="en-US", accept_downloads=True,
                                      viewport={"width": 1200, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", served.passwords[username])
        page.click("form.login button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login)"))
        return page

    yield open_as
    for context in contexts:
        context.close()


def current_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_the_playhead_and_the_highlighted_word_follow_the_audio(page_as, long_call):
    page = page_as("vic")
    page.goto(f"/calls/{long_call}")
    page.click("#t1 button.when")  # plays from the second turn
    page.wait_for_function("() => document.getElementById('player').currentTime > 2.5")
    first = page.locator("#transcript .w.now")
    expect(first).to_have_count(1)
    first_at = float(first.get_attribute("data-seek"))
    x_first = float(page.get_attribute("#playhead", "x1"))
    page.wait_for_function(f"() => document.getElementById('player').currentTime > {first_at + 1.2}")
    later = page.locator("#transcript .w.now")
    expect(later).to_have_count(1)
    assert float(later.get_attribute("data-seek")) > first_at  # the highlight moved on
    assert float(page.get_attribute("#playhead", "x1")) > x_first  # and so did the playhead
    assert not page.evaluate("document.getElementById('player').paused")
    page.screenshot(path=artifacts() / "call-player.png")


def test_clicking_the_timeline_seeks_there_and_the_page_follows(page_as, long_call):
    page = page_as("vic")
    page.goto(f"/calls/{long_call}")
    assert page.evaluate("window.scrollY") == 0
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('player').currentTime > 36 && document.querySelector('.w.now')")
    assert 35 < current_time(page) < 44
    # Following: the playing word was scrolled into view, below the sticky player.
    page.wait_for_function("""() => { const w = document.querySelector('.w.now').getBoundingClientRect();
                                      return w.top > 0 && w.bottom < window.innerHeight; }""")
    assert page.evaluate("window.scrollY") > 0
    expect(page.locator("#player-bar")).to_be_in_viewport()

    # Scrolling by hand stops following, and a button brings the playing word back.
    expect(page.locator("#resume-follow")).to_be_hidden()
    page.mouse.wheel(0, -5000)
    expect(page.locator("#resume-follow")).to_be_visible()
    expect(page.locator("#follow")).not_to_be_checked()
    page.click("#resume-follow")
    expect(page.locator("#follow")).to_be_checked()
    expect(page.locator("#transcript .w.now")).to_be_in_viewport()


def test_space_plays_and_pauses_without_scrolling_the_page(page_as, long_call):
    page = page_as("vic")
    page.goto(f"/calls/{long_call}")
    # Follow mode would scroll to the playing turn (below the fold on this page): off, so any
    # scroll would be Space's own.
    page.uncheck("#follow")
    page.locator("h1").click()  # focus on the page, not on a control
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.getElementById('player').paused")
    assert page.evaluate("window.scrollY") == 0
    page.keyboard.press("Space")
    page.wait_for_function("() => document.getElementById('player').paused")
    assert page.evaluate("window.scrollY") == 0


def test_shortcuts_skip_change_speed_and_explain_themselves(page_as, long_call):
    page = page_as("vic")
    page.goto(f"/calls/{long_call}")
    page.locator("h1").click()
    page.keyboard.press("l")
    page.keyboard.press("ArrowRight")
    assert current_time(page) == pytest.approx(10, abs=0.5)
    page.keyboard.press("j")
    assert current_time(page) == pytest.approx(5, abs=0.5)
    page.click("button[data-skip='5']")
    assert current_time(page) == pytest.approx(10, abs=0.5)
    page.keyboard.press(">")
    page.keyboard.press(">")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.5
    expect(page.locator("#speed")).to_have_value("1.5")
    page.select_option("#speed", "0.75")
    assert page.evaluate("document.getElementById('player').playbackRate") == 0.75

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts")).to_contain_text("Play or pause")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()


def test_words_are_reachable_by_keyboard_and_the_first_tab_skips_to_the_content(page_as, long_call):
    page = page_as("admin")
    page.goto(f"/calls/{long_call}")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    # Legal hold and delete wait in a menu of their own, after the player's controls.
    expect(page.locator("main form[action*='/hold'] button")).to_be_hidden()
    page.click("details.more-actions summary")
    expect(page.locator("details.more-actions button", has_text="Put under legal hold")).to_be_visible()
    expect(page.locator("details.more-actions a", has_text="Delete this call")).to_be_visible()

    word = page.locator("#transcript .w").first
    word.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    third = page.locator("#transcript .w").nth(2)
    expect(third).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_function(f"""() => {{ const p = document.getElementById('player');
                                        return !p.paused && p.currentTime >= {float(third.get_attribute('data-seek'))} - 0.2; }}""")
    assert page.evaluate("[...document.querySelectorAll('#transcript .w')].filter(w => w.tabIndex === 0).length") == 1


def test_an_unsure_word_corrected_by_keyboard_survives_a_reload_and_is_found_by_search(page_as, edit_call):
    page = page_as("vic")
    page.goto(f"/calls/{edit_call}")
    page.locator("h1").click()
    page.keyboard.press("n")  # the next unsure word: focused, and played from just before it
    unsure = page.locator("#t0 .w.unsure")
    expect(unsure).to_be_focused()
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.keyboard.press("e")
    expect(page.locator("#edit-word")).to_be_visible()
    expect(page.locator("#edit-word input")).to_have_value("parcel")
    page.fill("#edit-word input", "passport")
    page.keyboard.press("Enter")
    expect(page.locator("#t0 .w").nth(3)).to_have_text("passport")
    expect(page.locator("#t0 .w.unsure")).to_have_count(0)

    page.reload()
    expect(page.locator("#t0 p")).to_have_text("please send the passport to Lisbon")
    expect(page.locator("#revisions li").first).to_contain_text("vic")
    expect(page.locator("#revisions li").first).to_contain_text("parcel")
    page.screenshot(path=artifacts() / "call-edited.png", full_page=True)

    # Split the second turn before "goes", by keyboard: the page reloads with three turns.
    page.locator("#t1 .w").nth(2).focus()
    page.keyboard.press("s")
    expect(page.locator("#transcript .turn")).to_have_count(3)
    expect(page.locator("#t2 p")).to_have_text("goes out tomorrow morning")

    page.goto("/search?q=passport")
    hit = page.locator(f"ol.hits li a[href^='/calls/{edit_call}#t=']")
    expect(hit).to_have_count(1)
    expect(hit.locator(".snippet mark")).to_have_text("passport")


def test_a_viewer_without_edit_rights_gets_no_editor(page_as, edit_call, reader):
    page = page_as(reader)
    page.goto(f"/calls/{edit_call}")
    expect(page.locator("#transcript .w").first).to_be_visible()
    turns = page.locator("#transcript .turn").count()
    page.locator("#t0 .w").nth(3).focus()
    page.keyboard.press("e")
    page.locator("#t0 .w").nth(3).dblclick()
    expect(page.locator("#edit-word")).to_have_count(0)
    expect(page.locator("[data-edit]")).to_have_count(0)
    page.keyboard.press("s")
    page.reload()
    expect(page.locator("#transcript .turn")).to_have_count(turns)


@pytest.fixture(scope="module")
def same_number_calls(served):  # noqa: F811
    """Two calls from one number, written two ways, their speakers labelled with the numbers."""
    ids = []
    with served.store() as store:
        for uniqueid, caller in (("browser-n1", "+49 30 4445566"), ("browser-n2", "+4930 444 5566")):
            ids.append(recorded_call(store, [write_wav(served.data_dir / "recordings" / f"{uniqueid}.wav", 4.0)],
                                     CallMeta(uniqueid=uniqueid, caller=caller, callee="205"),
                                     talk([(0, "hello about my order"), (1, "one moment please")]),
                                     (Speaker(0, caller, "caller"), Speaker(1, "205", "callee"))).call_id)
    return ids


def test_a_name_given_to_a_number_reaches_its_other_calls_and_their_txt_export(page_as, same_number_calls):
    first, other = same_number_calls
    page = page_as("vic")
    page.goto(f"/calls/{first}")
    form = page.locator("section.speakers form").first
    form.locator("input[name=label]").fill("Greta Lindqvist")
    form.locator("input[name=all_calls]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Greta Lindqvist")

    page.goto(f"/calls/{other}")
    expect(page.locator("h1")).to_contain_text("Greta Lindqvist (+4930 444 5566)")
    expect(page.locator("#t0 .who")).to_have_text("Greta Lindqvist")
    with page.expect_download() as info:
        page.click("section.exports a.button:text-is('TXT')")
    assert "Greta Lindqvist: hello about my order" in Path(info.value.path()).read_text()
    page.goto("/")
    expect(page.locator(f'tr[data-call="{other}"]')).to_contain_text("Greta Lindqvist")


def artifacts() -> Path:
    folder = Path(os.environ.get("APPLIANCE_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "var" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
