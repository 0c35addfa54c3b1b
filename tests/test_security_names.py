"""Issue 15, names shown to others: a user name with a bidi override, a zero-width or a
control character is refused (page and command line); token, speaker and webhook names lose
such characters before they are stored and shown."""

from __future__ import annotations

import pytest

HIDDEN = ("adm\u202enimda", "ad\u200bmin", "ad\u2066min", "a\x07b")


@pytest.mark.parametrize("name", HIDDEN)
def test_a_user_name_with_hidden_characters_is_refused_on_the_page(served, name):
    admin = served.login("admin")
    answer = admin.post("/admin/users", {"username": name, "role": "viewer", "locale": "en"}, token_from="/admin/users")
    assert answer.status == 400
    with served.store() as store:
        assert name not in [user.username for user in store.users.all()]


def test_a_user_name_with_hidden_characters_is_refused_on_the_command_line(served):
    done = served.cli("users", "add", "ad\u202emin", check=False)
    assert done.returncode != 0 and "invisible" in done.stderr


def test_token_speaker_and_webhook_names_lose_hidden_characters(served):
    with served.store() as store:
        user = store.users.by_name("vic")
        assert store.users.add_api_token(user.id, "scr\u202eipt", "h" * 64, days=30).name == "script"
        store.transcripts.rename_speaker(served.own_call, 0, "Mrs\u200b We\u202eber")
        assert [s.label for s in store.transcripts.get(served.own_call).speakers][0] == "Mrs Weber"
        webhook = store.webhooks.save(None, "C\u202eRM", "http://192.168.77.10/hook", "s", ("caller",), False)
        assert store.webhooks.get(webhook).name == "CRM"
