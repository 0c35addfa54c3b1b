"""Quality assurance from the real server (one server for the module).

Reviews: the scorecard an admin defines, a reviewer's card per call (weighted score, editable,
audited), comments at a moment that play from it, who may review (admins and supervisors) and
who reads the reviews (whoever sees the call), and the scores per extension on the dashboard.

Phrase alerts: the phrases an admin watches for flag the calls that contain them (call page,
list filter, dashboard count, in the user's scope), reach the webhooks that opted in, and are
checked again after a correction."""

import html
import re

import pytest

from appliance.analytics.phrases import run_pending as check_phrases
from appliance.store.scopes import entry
from appliance.transcript.model import CallMeta
from appliance.webhooks import delivery
from support.web import audit_actions, hashed, recorded_call, talk, write_wav

SUPERVISOR = ("sue", "supervisor-pass-served-1")  # a reviewer who sees extension 201 only


def text_of(page: str, css_class: str, tag: str = "section") -> str:
    match = re.search(rf'<{tag} class="{css_class}".*?</{tag}>', page, re.S)
    assert match, f"no {css_class} on the page"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match[0]))).strip()


@pytest.fixture(scope="module")
def card(served):
    """A scorecard of two criteria: a yes/no of weight 2 and a 1-5 of weight 1."""
    with served.store() as store:
        sue = store.users.add(SUPERVISOR[0], hashed(SUPERVISOR[1]), "supervisor")
        store.users.set_scope_entries(sue.id, [entry("extension", "201")])
    admin = served.login("admin")
    for text, kind, weight in (("Greeting with the practice name", "yes_no", "2"),
                               ("Friendly tone", "scale", "1")):
        assert admin.post("/admin/scorecard", {"text": text, "kind": kind, "weight": weight}).status == 302
    with served.store() as store:
        criteria = store.reviews.scorecard()
    return served, admin, [c.id for c in criteria]


def test_the_admin_defines_the_scorecard(card):
    served, admin, ids = card
    page = admin.get("/admin/scorecard").text
    text = text_of(page, "scorecard", "table")
    assert "Greeting with the practice name yes/no 2" in text and "Friendly tone 1 to 5 1" in text
    with served.store() as store:
        assert {e.detail for e in audit_actions(store, "criterion-add")} == {
            "Greeting with the practice name", "Friendly tone"}
    # Bad input is a readable message, never a 500; nothing is added.
    for bad in ({"text": "", "kind": "yes_no"}, {"text": "x", "kind": "stars"}, {"text": "x", "kind": "scale", "weight": "abc"},
                {"text": "x", "kind": "scale", "weight": "nan"}, {"text": "x" * 201, "kind": "scale"}):
        assert admin.post("/admin/scorecard", bad).status == 302
    assert "A criterion needs a text" in admin.get("/admin/scorecard").text
    with served.store() as store:
        assert len(store.reviews.scorecard()) == 2
    assert served.login("vic").get("/admin/scorecard").status == 403


def test_a_review_is_scored_by_weight_editable_and_audited(card):
    served, admin, (greeting, tone) = card
    call = f"/calls/{served.own_call}"
    assert admin.post(f"{call}/review", {f"c{greeting}": "1", f"c{tone}": "3", "note": "good start"}).status == 302
    text = text_of(admin.get(call).text, "reviews")
    # (2 × met + 1 × half met) / 3 = 83 %
    assert "admin" in text and "Score: 83 %" in text and "Greeting with the practice name: yes" in text
    assert "Friendly tone: 3/5" in text and "good start" in text
    assert admin.post(f"{call}/review", {f"c{greeting}": "0", f"c{tone}": "3", "note": ""}).status == 302
    page = admin.get(call).text
    text = text_of(page, "reviews")
    assert "Score: 17 %" in text and "83 %" not in text and "good start" not in text  # replaced, not added
    assert '<option value="0" selected>' in page  # the form shows the saved answer
    with served.store() as store:
        assert [e.target for e in audit_actions(store, "review-save")] == [f"call {served.own_call}"] * 2
    # An answer the criterion does not allow changes nothing.
    assert admin.post(f"{call}/review", {f"c{greeting}": "5"}).status == 302
    page = admin.get(call).text
    assert "An answer is yes/no or 1 to 5" in page and "Score: 17 %" in text_of(page, "reviews")


def test_a_comment_at_a_moment_links_to_that_second(card):
    served, admin, _ = card
    call = f"/calls/{served.own_call}"
    assert admin.post(f"{call}/comments", {"at": "0:42", "text": "offers a callback"}).status == 302
    page = admin.get(call).text
    assert '<a class="when" href="#t=42" data-seek="42">0:42</a>' in page
    assert "admin : offers a callback" in text_of(page, "comments", "ul")
    assert admin.post(f"{call}/comments", {"at": "soon", "text": "no moment"}).status == 302
    assert "no moment" not in admin.get(call).text
    with served.store() as store:
        assert [e.target for e in audit_actions(store, "comment-add")] == [f"call {served.own_call}"]
        comment = store.reviews.comments(served.own_call)[0]
    # A comment id of another call is not this call's to delete.
    assert admin.post(f"/calls/{served.other_call}/comments/{comment.id}/delete").status == 404


def test_the_agent_reads_the_reviews_of_their_calls_and_cannot_review(card):
    served, admin, (greeting, tone) = card
    agent = served.login("agent")
    page = agent.get(f"/calls/{served.own_call}").text
    assert "Score: 17 %" in text_of(page, "reviews") and "offers a callback" in page
    assert "Save review" not in page and "Add comment" not in page
    for user in (agent, served.login("vic")):  # an agent, a viewer who may edit: no reviewers
        assert user.post(f"/calls/{served.own_call}/review", {f"c{greeting}": "1"}).status == 403
        assert user.post(f"/calls/{served.own_call}/comments", {"at": "1", "text": "x"}).status == 403
    with served.store() as store:
        assert [r.reviewer for r in store.reviews.of_call(served.own_call)] == ["admin"]


def test_reviews_are_scoped_like_calls(card):
    served, admin, (greeting, tone) = card
    assert admin.post(f"/calls/{served.other_call}/review", {f"c{greeting}": "1", f"c{tone}": "5"}).status == 302
    assert admin.post(f"/calls/{served.other_call}/comments", {"at": "3", "text": "paid late"}).status == 302
    sue = served.login(*SUPERVISOR)
    # The supervisor reviews the calls they see, and no other.
    assert sue.post(f"/calls/{served.own_call}/review", {f"c{greeting}": "1"}).status == 302
    assert "sue" in text_of(sue.get(f"/calls/{served.own_call}").text, "reviews")
    assert sue.get(f"/calls/{served.other_call}").status == 404
    assert sue.post(f"/calls/{served.other_call}/review", {f"c{greeting}": "0"}).status == 404
    assert sue.post(f"/calls/{served.other_call}/comments", {"at": "1", "text": "x"}).status == 404
    with served.store() as store:
        assert [r.reviewer for r in store.reviews.of_call(served.other_call)] == ["admin"]
    # Per extension on the dashboard: the admin sees both, the agent only their own.
    rows = admin.get("/dashboard").text
    assert re.search(r'data-extension="202">.*?<td class="score">100 % \(1 review\)</td>', rows, re.S)
    # 201: admin's 17 % and sue's 100 % → 58 %
    assert re.search(r'data-extension="201">.*?<td class="score">58 % \(2 reviews\)</td>', rows, re.S)
    mine = served.login("agent").get("/dashboard").text
    assert 'data-extension="202"' not in mine and "100 %" not in mine


def test_changes_need_the_csrf_token(card):
    served, admin, (greeting, _) = card
    for path in (f"/calls/{served.own_call}/review", f"/calls/{served.own_call}/comments", "/admin/scorecard"):
        answer = admin.request("POST", path, {f"c{greeting}": "1", "at": "1", "text": "forged", "kind": "scale"})
        assert answer.status == 400, path
    assert "forged" not in admin.get(f"/calls/{served.own_call}").text
    assert "forged" not in admin.get("/admin/scorecard").text


def test_the_review_panel_in_german(card):
    served, admin, _ = card
    with served.store() as store:
        store.users.set_locale(store.users.by_name("agent").id, "de")
    page = served.login("agent").get(f"/calls/{served.own_call}").text
    text = text_of(page, "reviews")
    assert "Bewertungen" in text and "Kommentare" in text and "Punktzahl: 17 %" in text


# --- phrase alerts --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alerted(served, webhook_receiver):
    """Phrases "kündig" (notifying) and "Anwalt"; a webhook that opted in to alerts and one that
    did not; a call of extension 202 (outside the agent's scope) that says both, checked."""
    url, _ = webhook_receiver
    admin = served.login("admin")
    assert admin.post("/admin/phrases", {"phrase": "kündig", "notify": "on"}).status == 302
    assert admin.post("/admin/phrases", {"phrase": "Anwalt"}).status == 302
    with served.store() as store:
        store.webhooks.save(None, "crm", url, "s3cret", ("call", "alerts"), True)
        store.webhooks.save(None, "plain", url + "?plain", "s3cret", ("call",), True)
        call = recorded_call(store, [write_wav(served.data_dir / "recordings" / "alert.wav", 4.0)],
                             CallMeta(uniqueid="served-alert", caller="202", callee="+4930333"),
                             talk([(0, "guten Tag hier ist die Praxis"),
                                   (1, "ich will den Vertrag kündigen, sonst kommt mein Anwalt")])).call_id
        check_phrases(store)
    return served, admin, call


def test_a_call_that_says_a_phrase_is_flagged_with_its_moment(alerted):
    served, admin, call = alerted
    page = admin.get(f"/calls/{call}").text
    text = text_of(page, "alerts")
    assert "Phrase alert:" in text and "„kündig\" 0:02" in text and "„Anwalt\" 0:03" in text
    assert 'href="#t=2.' in page
    listed = admin.get("/?alert=1").text
    assert f'data-call="{call}"' in listed and f'data-call="{served.own_call}"' not in listed
    assert f'data-call="{served.own_call}"' in admin.get("/").text
    dashboard = admin.get("/dashboard").text
    assert re.search(r'<a class="alerted" href="[^"]*alert=1[^"]*">1 call with a phrase alert</a>', dashboard)
    assert f'<a href="/?kind=call&amp;from=' in dashboard and "&amp;alert=1\">1</a>" in dashboard
    # The agent sees extension 201's calls: neither the call nor its count.
    agent = served.login("agent")
    assert f'data-call="{call}"' not in agent.get("/?alert=1").text
    assert "0 Gespräche mit Phrasen-Alarm" in agent.get("/dashboard").text  # German since the test above
    assert agent.get(f"/calls/{call}").status == 404


def test_the_alert_reaches_the_webhooks_that_opted_in(alerted, webhook_receiver, loopback_is_lan, settings):
    served, admin, call = alerted
    _, received = webhook_receiver
    with served.store() as store:
        delivery.deliver_due(store, settings)
    alerts = [body for body in received if body["event"] == "phrase.alert"]
    assert len(alerts) == 1 and alerts[0]["call_id"] == call  # the crm hook only, once
    assert [(a["phrase"], a["speaker"]) for a in alerts[0]["alerts"]] == [("kündig", "Agent"), ("Anwalt", "Agent")]
    assert "transcript" not in alerts[0]  # the fields the admin chose, no more
    page = admin.get("/admin/webhooks").text
    assert "phrase alert" in page and "phrase alerts" in page  # the log's event, the opt-in field


def test_a_correction_checks_the_call_again(alerted):
    served, admin, call = alerted
    with served.store() as store:
        store.edits.edit(call, "admin", "word", 1, word=4, text="behalten,")
        check_phrases(store)
        assert [hit.phrase for hit in store.alerts.of_call(call)] == ["Anwalt"]
        store.edits.edit(served.own_call, "admin", "word", 1, word=1, text="Kündigung")
        check_phrases(store)
        assert [hit.phrase for hit in store.alerts.of_call(served.own_call)] == ["kündig"]
    text = text_of(admin.get(f"/calls/{call}").text, "alerts")
    assert "Anwalt" in text and "kündig" not in text


def test_only_admins_set_phrases_and_bad_ones_are_refused(alerted):
    served, admin, _ = alerted
    for bad in ("", "   ", "x" * 81, "KÜNDIG"):
        assert admin.post("/admin/phrases", {"phrase": bad}).status == 302
    page = admin.get("/admin/phrases").text
    assert "The phrase KÜNDIG is watched already." in page and "A phrase has 1 to 80" in page
    with served.store() as store:
        assert [rule.phrase for rule in store.alerts.rules()] == ["Anwalt", "kündig"]
        assert {e.detail for e in audit_actions(store, "phrase-add")} >= {"kündig", "Anwalt"}
    assert served.login("vic").get("/admin/phrases").status == 403
    assert served.login("vic").post("/admin/phrases", {"phrase": "x"}).status == 403
    assert admin.request("POST", "/admin/phrases", {"phrase": "forged"}).status == 400


# --- criteria the transcript answers ---------------------------------------------------------


def test_a_criterion_a_phrase_answers_links_to_the_moment_and_fills_in_the_form(card):
    served, admin, _ = card
    assert admin.post("/admin/scorecard", {"text": "Names the practice", "kind": "yes_no", "weight": "1",
                                           "phrase": "Praxis  Weber", "phrase_party": "callee"}).status == 302
    assert admin.post("/admin/scorecard", {"text": "No promise of a cure", "kind": "yes_no", "weight": "1",
                                           "phrase": "ich verspreche", "phrase_meets": "0"}).status == 302
    # A phrase answers yes or no only; the party is one of the call's.
    assert admin.post("/admin/scorecard", {"text": "Tone", "kind": "scale", "phrase": "bitte"}).status == 302
    assert "A phrase answers a yes/no criterion" in admin.get("/admin/scorecard").text
    assert admin.post("/admin/scorecard", {"text": "Tone", "kind": "yes_no", "phrase": "x",
                                           "phrase_party": "boss"}).status == 302
    with served.store() as store:
        card = {c.text: c for c in store.reviews.scorecard()}
        assert "Tone" not in card and card["Names the practice"].phrase == "Praxis Weber"
        wav = write_wav(served.data_dir / "recordings" / "practice.wav", 6.0)
        answered = recorded_call(store, [wav], CallMeta(uniqueid="served-practice", caller="+4930111", callee="201"),
                                 talk([(0, "Guten Tag."), (1, "Hier ist die Praxis Weber, was kann ich tun?")]),
                                 language="de").call_id
        # The caller, not the called party, names the practice here: that does not meet it.
        wav = write_wav(served.data_dir / "recordings" / "practice-2.wav", 6.0)
        other = recorded_call(store, [wav], CallMeta(uniqueid="served-practice-2", caller="+4930111", callee="201"),
                              talk([(0, "Ist dort die Praxis Weber?"), (1, "Ja, ich verspreche Ihnen Heilung.")]),
                              language="de").call_id
    assert "Names the practice" in text_of(admin.get("/admin/scorecard").text, "scorecard", "table")
    page = admin.get(f"/calls/{answered}").text
    text = text_of(page, "automatic", "ul")
    assert "Names the practice: yes" in text and "„Praxis Weber“ said by Agent at" in text
    assert "No promise of a cure: yes" in text and "„ich verspreche“ not said" in text
    moment = re.search(r'„Praxis Weber“ said by Agent at\s*<a class="when" href="#t=([0-9.]+)" data-seek="\1">0:0\d</a>',
                       page)
    assert moment and 2.0 <= float(moment[1]) < 3.5, "the link plays from the words, in the callee's turn"
    with served.store() as store:
        criteria = {c.text: c.id for c in store.reviews.scorecard()}
    form = page[page.index('class="review-form"'):]
    for name in ("Names the practice", "No promise of a cure"):  # the reviewer's form comes filled in
        chosen = re.search(rf'name="c{criteria[name]}">.*?</select>', form, re.S)[0]
        assert '<option value="1" selected>' in chosen, name
    text = text_of(admin.get(f"/calls/{other}").text, "automatic", "ul")
    assert "Names the practice: no" in text and "No promise of a cure: no" in text
    # The reviewer's own answer is the one the review keeps.
    assert admin.post(f"/calls/{answered}/review", {f"c{criteria['Names the practice']}": "0"}).status == 302
    with served.store() as store:
        assert store.reviews.of_call(answered)[-1].answers == {criteria["Names the practice"]: 0}
