"""Accounts in a real browser (Debian's Chromium driven by Playwright) against a real
`appliance serve` (tests/support/served.py): a new user's generated password copied with its button,
the forced change at the first login (in German), an API token copied on the account page."""

from __future__ import annotations

import re

from support.browser import artifacts_dir

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture says what is missing
    expect = None


def _page(browser, served, locale: str = "en-US"):
    context = browser.new_context(base_url=served.url, locale=locale, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    context.set_default_timeout(30_000)
    return context, context.new_page()


def _log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")


def test_a_generated_password_is_copied_and_must_be_changed_at_the_first_login(browser, served):
    context, page = _page(browser, served)
    _log_in(page, "admin", served.passwords["admin"])
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    page.goto("/admin/users")
    page.fill("input[name=username]", "greta")
    page.locator("form.filters input[name=scope]").fill("all")
    page.locator("form.filters select[name=locale]").select_option("de")
    page.click("form.filters button[type=submit]")
    shown = page.locator("#new-password")
    password = shown.inner_text()
    button = page.locator("button[data-copy=new-password]")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == password
    page.screenshot(path=artifacts_dir() / "users-new-password.png", full_page=True)
    context.close()

    context, page = _page(browser, served, locale="de-DE")
    _log_in(page, "greta", password)
    page.wait_for_url("**/account/password")
    expect(page.locator("p.temporary")).to_have_text(
        "Ihr Passwort wurde von einem Administrator vergeben. Wählen Sie ein eigenes, bevor Sie weitermachen.")
    page.screenshot(path=artifacts_dir() / "forced-password-change-de.png", full_page=True)
    page.goto(f"/calls/{served.own_call}")
    page.wait_for_url("**/account/password")  # no page opens before the change
    page.fill("input[name=current]", password)
    page.fill("input[name=new]", "gretas eigenes passwort")
    page.fill("input[name=repeat]", "gretas eigenes passwort")
    page.click("form.password button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".flash.info")).to_contain_text("Passwort geändert.")
    expect(page.locator("h1").first).to_be_visible()
    context.close()


def test_a_new_api_token_is_copied_with_its_button(browser, served):
    context, page = _page(browser, served)
    _log_in(page, "vic", served.passwords["vic"])
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    page.goto("/account")
    page.fill("input[name=name]", "CRM")
    page.click("text=Create token")
    token = page.locator("#new-token").inner_text()
    assert token.startswith("ca_")
    page.click("button[data-copy=new-token]")
    expect(page.locator("button[data-copy=new-token]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.screenshot(path=artifacts_dir() / "account-new-token.png", full_page=True)
    context.close()
