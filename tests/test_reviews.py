"""Quality reviews from the real server: the scorecard an admin defines, a reviewer's card per
call (weighted score, editable, audited), comments at a moment that play from it, who may review
(admins and supervisors) and who reads the reviews (whoever sees the call), and the scores per
extension on the dashboard."""

import html
import re

import pytest

from appliance.store.scopes import entry
from support.web import audit_actions, hashed

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
