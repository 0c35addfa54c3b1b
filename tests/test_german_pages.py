"""A German user never meets English: every page of the app (each GET route of the url_map,
found by walking it, so a new page is checked without an edit here) is opened with real ids as
a German administrator, and so are the login page (no session, the browser asking for German)
and the error pages. Every text a person reads (text nodes, titles, placeholders, labels, button
values, the labels scripts show) is checked against the catalogue (a msgid shown untranslated)
and against a list of English words. Data is German here, so a hit is the UI's own text; what a
page shows verbatim from the store is marked `data-user-content` in its template."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from appliance.config import load_settings
from appliance.nlp.stage import run_pending
from appliance.store import Store
from appliance.store.menu import MenuInteraction
from appliance.store.retention import RetentionPolicy
from appliance.transcript.model import CallMeta, Speaker
from appliance.web.auth import hash_token, new_api_token
from support.web import hashed, login, make_app, post, recorded_call, talk, write_wav

PASSWORD = "admin-pass-1234"
CATALOGUE = Path(__file__).resolve().parents[1] / "appliance/web/translations/de/LC_MESSAGES/messages.po"
# Words of the English UI that German pages never contain (German data is seeded below).
ENGLISH = re.compile(
    r"\b(the|and|of|with|is|are|not|yet|this|that|your|you|no|none|never|all|any|"
    r"call|calls|caller|callee|speaker|speakers|inbound|outbound|internal|voicemail|note|notes|"
    r"pending|done|queued|failed|running|sent|transcribing|viewer|supervisor|receptionist|"
    r"user|users|password|login|logged|search|searched|delete|deleted|viewed|listened|exported|"
    r"found|page|back|error|request|allowed|database|worker|keywords|summary|entities|date|amount|"
    r"phone|order|up|down|days|created|expires|unknown|new|enabled|disabled|active)\b",
    re.IGNORECASE)
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class ShownText(HTMLParser):
    """The texts of a page a person reads, without data marked `data-user-content`, scripts,
    styles, or parts in another language (lang="en" on an "English" option)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, hidden from the check)

    def _hidden(self) -> bool:
        return bool(self._open) and self._open[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hidden = (self._hidden() or tag in ("script", "style") or "data-user-content" in attrs
                  or attrs.get("lang", "de") != "de")
        if not hidden:
            shown = [value for name, value in attrs.items()
                     if value and (name in SHOWN_ATTRIBUTES or name.startswith("data-label"))]
            if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
                shown.append(attrs.get("value") or "")
            self.texts.extend(text for text in shown if text.strip())
        if tag not in VOID:
            self._open.append((tag, hidden))

    def handle_endtag(self, tag):
        # Tags closed implicitly (<p>, <li>) are popped with the one that closes them.
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                del self._open[depth:]
                return

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.texts.append(" ".join(data.split()))


def _untranslated() -> list[re.Pattern]:
    """Each msgid the German catalogue translates differently, as a pattern of its shown text."""
    with open(CATALOGUE, "rb") as po:
        catalogue = read_po(po)
    found = []
    for message in catalogue:
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        string = message.string if isinstance(message.string, str) else message.string[0]
        if not msgid or not string or string == msgid:
            continue
        parts = re.split(r"%\(\w+\)s", re.sub(r"\s+", " ", msgid.replace("%%", "%")))
        found.append(re.compile(".+?".join(re.escape(part) for part in parts)))
    return found


UNTRANSLATED = _untranslated()


def english_in(html: str) -> list[str]:
    parser = ShownText()
    parser.feed(html)
    hits = []
    for text in parser.texts:
        text = re.sub(r"/[\w/.-]+", "", text)  # paths such as /api/calls are no words
        if any(pattern.fullmatch(text) for pattern in UNTRANSLATED):
            hits.append(f"untranslated: {text!r}")
        elif match := ENGLISH.search(text):
            hits.append(f"English word {match[0]!r} in {text!r}")
    return hits


# --- the German site --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A German administrator, a call, a voicemail, a voice note, a conversation of two legs, a
    failed and a quarantined job, a call in progress, a webhook with deliveries, a retention
    policy, an API token and audit entries of many kinds."""
    folder = tmp_path_factory.mktemp("german")
    (folder / "data").mkdir()
    settings = load_settings(Path("/dev/null"), environ={}, data_dir=folder / "data", models_dir=folder / "models")
    with Store(settings.db_path) as store:
        admin = store.users.add("ada", hashed(PASSWORD), "admin", "de")
        store.users.add("bea", hashed(PASSWORD), "viewer", "de")
        people = (Speaker(0, "Frau Müller", "caller"), Speaker(1, "Praxis", "callee"))
        wav = write_wav(folder / "anruf.wav", 4.0)
        call = recorded_call(store, [wav], CallMeta(uniqueid="de.1", caller="+4930111222", callee="201",
                                                    direction="inbound", linkedid="de.1"),
                             talk([(0, "Guten Morgen, hier spricht Frau Müller"), (1, "Wie kann ich helfen?"),
                                   (0, "Ich brauche einen Termin am Montag, Auftrag 4711")]), people).call_id
        recorded_call(store, [write_wav(folder / "weiter.wav", 2.0)],
                      CallMeta(uniqueid="de.2", caller="201", callee="202", direction="internal", linkedid="de.1"),
                      talk([(0, "Ich verbinde Sie"), (1, "Danke schön")]), people)
        voicemail = recorded_call(store, [write_wav(folder / "box.wav", 2.0)],
                                  CallMeta(uniqueid="de.3", caller="+4930333444", callee="1000", kind="voicemail"),
                                  talk([(0, "Bitte rufen Sie mich zurück")]), people[:1]).call_id
        recorded_call(store, [write_wav(folder / "notiz.wav", 2.0)],
                      CallMeta(uniqueid="de.4", caller="201", callee="201", direction="outbound", kind="note"),
                      talk([(0, "Rückruf bei Frau Müller morgen früh")]), people[:1])
        for uniqueid, permanent in (("de.5", False), ("de.6", True)):
            job = store.intake.enqueue(CallMeta(uniqueid=uniqueid, caller="+4930555", callee="203",
                                                   direction="outbound"), [str(wav)], {}).job_id
            store.jobs.claim("test", 60)
            store.jobs.fail(job, "test", "Datei beschädigt", permanent=permanent, max_attempts=1, backoff_seconds=0)
        store.intake.enqueue(CallMeta(uniqueid="de.7", caller="+4930666", callee="204"), [str(wav)], {})
        live = store.live.start("de.8", caller="+4930777", callee="205", direction="inbound")
        store.live.event(live, "caller", final=True, text="Hallo, ist dort die Praxis?")
        store.menu.log(MenuInteraction("de.1", "de.1", "hauptmenü", 1, "speech", "Termin", None, None,
                                                   0.4, "vosk", 2.0, 80.0, 1.0))
        store.menu.log(MenuInteraction("de.1", "de.1", "hauptmenü", 2, "dtmf", "1", "operator",
                                                   "200@intern", None, None, 1.0, 5.0, 2.0))
        hook = store.webhooks.save(None, "Büro-CRM", "http://crm.buero.lan/haken", "geheim", ("call",), True)
        run_pending(store, settings)  # keywords, summary, entities; a delivery for the webhook
        failed, sent = store.webhooks.add_test_delivery(hook), store.webhooks.add_test_delivery(hook)
        store.webhooks.record_attempt(failed, "failed", 500, "Verbindung abgelehnt")
        store.webhooks.record_attempt(sent, "sent", 200)
        store.retention.add_policy(RetentionPolicy("Ausgehend kurz", direction="outbound", audio_days=30))
        store.users.add_api_token(admin.id, "Büro-Skript", hash_token(new_api_token()))
        store.retention.set_legal_hold(call, True)
        for action in ("login-failed", "disk-low", "restore", "erasure", "retention-audio", "user-disable"):
            store.audit.add(None, action, f"call {call}")
    app = make_app(settings)
    browser = app.test_client()
    assert login(browser, "ada", PASSWORD).status_code == 302
    # The pages a form answers with: a new user (its password), a new token.
    answered = [post(browser, "/admin/users", {"username": "cora", "role": "agent", "scope": "nebenstelle:201",
                                               "locale": "de"}, token_from="/admin/users"),
                post(browser, "/account", {"action": "token", "name": "Skript", "days": "30"}, token_from="/account")]
    return {"answered": [answer.get_data(as_text=True) for answer in answered], "app": app, "browser": browser,
            "settings": settings, "call": call, "voicemail": voicemail, "live": live, "hook": hook,
            "admin": admin.id}


def _ids(site: dict, rule: str) -> str:
    """The rule with real ids; a parameter this walk does not know gets 1 (the page is checked
    all the same, error page or not)."""
    known = {"call_id": site["call"], "live_id": site["live"], "job_id": 1, "user_id": site["admin"],
             "webhook_id": site["hook"], "index": 0, "fmt": "csv"}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(known.get(m[1], 1)), rule)


def _page(browser, path: str) -> tuple[int, str] | None:
    """The HTML of a page (status, text); None for audio, exports, JSON and event streams."""
    response = browser.get(path, buffered=False)
    try:
        if response.mimetype != "text/html":
            return None
        return response.status_code, response.get_data(as_text=True)
    finally:
        response.close()


def test_no_english_on_any_german_page(site):
    app, browser = site["app"], site["browser"]
    paths = {_ids(site, rule.rule) for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and "<path:" not in rule.rule}
    call, voicemail = site["call"], site["voicemail"]
    paths |= {f"/calls/{voicemail}", "/?kind=voicemail", "/?kind=note", "/?state=failed", "/?number=999999",
              "/search?q=Termin", "/search?q=xyzzy", "/search?q=%22", "/admin/erasure?number=4930111222",
              "/admin/audit?action=view", f"/calls/{call}/conversation", "/calls/99999", "/keine-seite"}
    checked, found = [], [f"after a form: {hit}" for html in site["answered"] for hit in english_in(html)]
    assert "cora" in site["answered"][0] and "Skript" in site["answered"][1]
    for path in sorted(paths):
        page = _page(browser, path)
        if page is None:
            continue
        status, html = page
        assert status < 500, (path, status)
        checked.append(path)
        found += [f"{path}: {hit}" for hit in english_in(html)]
    assert not found, "English on German pages:\n" + "\n".join(found)
    assert len(checked) > 20, checked


@pytest.mark.parametrize("path,form,page,reason", [
    ("/admin/users", {"username": "dora", "scope": "planet:mars"}, "/admin/users", "nicht planet"),
    ("/admin/webhooks", {"name": "x", "url": "ftp://crm.buero.lan/"}, "/admin/webhooks", "beginnt mit http://"),
    ("/calls/{call}/delete", {}, "/calls/{call}", "Aufbewahrungspflicht"),
    ("/search?q=%22Termin", None, None, "Anführungszeichen")])
def test_a_refusal_says_why_in_german(site, path, form, page, reason):
    """What the store or a check refuses (BadScope, WebhookRefused, LegalHold, BadQuery) reads German."""
    browser = site["browser"]
    path, page = path.format(call=site["call"]), (page or "").format(call=site["call"])
    answer = browser.get(path) if form is None else post(browser, path, form, token_from=page)
    if answer.status_code == 302:  # the refusal is flashed on the page it leads back to
        answer = browser.get(page)
    html = answer.get_data(as_text=True)
    assert reason in html, html[:3000]
    assert not english_in(html), english_in(html)


def test_the_login_page_speaks_the_browsers_language(site):
    browser = site["app"].test_client()
    page = browser.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="de">' in page and "Anmelden" in page
    assert not english_in(page), english_in(page)
    wrong = browser.post("/login", data={"username": "ada", "password": "falsch", "csrf_token": re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]}, headers={"Accept-Language": "de"})
    assert not english_in(wrong.get_data(as_text=True)), english_in(wrong.get_data(as_text=True))
    english = browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Log in" in english


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/calls/99999", 404), ("GET", "/nirgends", 404), ("GET", "/calls/1/hold", 405),
    ("POST", "/calls/1/speakers/0", 400), ("GET", "/admin/users", 403)])
def test_error_pages_are_german_inside_the_layout_with_a_way_back(site, method, path, status):
    browser = site["browser"]
    if status == 403:  # a viewer on an administrator's page
        browser = site["app"].test_client()
        login(browser, "bea", PASSWORD)
    if status == 400:  # a form without its CSRF token
        response = browser.post(path, data={"label": "x"})
    else:
        response = browser.open(path, method=method)
    html = response.get_data(as_text=True)
    assert response.status_code == status, (path, response.status_code)
    assert '<nav' in html and 'href="/"' in html and "Zurück zu den Gesprächen" in html, html[:800]
    assert f'data-error="{status}"' in html
    assert not english_in(html), english_in(html)
    if status == 405:
        assert "GET" not in response.headers["Allow"] and "POST" in response.headers["Allow"]


def test_an_unexpected_failure_is_a_german_page_without_the_details(site):
    app = make_app(site["settings"])
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers, not the test client

    @app.route("/kaputt")
    def broken():
        raise RuntimeError("secret detail /var/lib/appliance")

    browser = app.test_client()
    login(browser, "ada", PASSWORD)
    response = browser.get("/kaputt")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and 'data-error="500"' in html and "Etwas ist schiefgegangen" in html
    assert "secret detail" not in html and "Traceback" not in html and "<nav" in html
    assert not english_in(html), english_in(html)


def test_errors_under_api_stay_json(site):
    response = site["browser"].get("/api/calls/99999")
    assert response.status_code == 404 and response.get_json() == {"error": "not found"}
