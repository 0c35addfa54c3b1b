import pytest

from appliance.errors import LastAdmin, NotFound


def test_a_user_reads_back_as_added_and_by_name_in_any_letter_case(store):
    alice = store.users.add("Alice", "hash-a", "admin", locale="de")
    assert (alice.username, alice.password_hash, alice.role, alice.locale, alice.disabled) == (
        "Alice", "hash-a", "admin", "de", False,
    )
    assert store.users.get(alice.id) == alice
    assert store.users.by_name("alice") == store.users.by_name("ALICE ") == alice
    assert store.users.by_name("bob") is None
    assert store.users.add("bob", "hash-b", "viewer").locale == "en"
    assert [user.username for user in store.users.all()] == ["Alice", "bob"]


def test_a_username_is_taken_in_every_letter_case(store):
    store.users.add("alice", "h", "viewer")
    store.users.add("Jürgen", "h", "viewer")
    for name in ("alice", "ALICE", " Alice", "JÜRGEN", "jürgen"):
        with pytest.raises(ValueError, match="already a user"):
            store.users.add(name, "h", "viewer")
    assert len(store.users.all()) == 2


@pytest.mark.parametrize(
    "username, role, locale, message",
    [
        ("  ", "viewer", "en", "username"),
        ("carol", "root", "en", "role"),
        ("carol", "viewer", "fr", "locale"),
    ],
)
def test_a_blank_name_or_unknown_role_or_locale_is_refused(store, username, role, locale, message):
    with pytest.raises(ValueError, match=message):
        store.users.add(username, "h", role, locale)
    assert store.users.all() == []


def test_setters_change_one_field_and_refuse_unknown_users_and_values(store):
    store.users.add("root", "h", "admin")  # another admin remains when alice is disabled
    user = store.users.add("alice", "old", "viewer")
    store.users.set_password(user.id, "new")
    store.users.set_role(user.id, "admin")
    store.users.set_locale(user.id, "de")
    store.users.set_disabled(user.id, True)
    changed = store.users.get(user.id)
    assert (changed.password_hash, changed.role, changed.locale, changed.disabled) == (
        "new", "admin", "de", True,
    )
    assert (changed.username, changed.created_at) == (user.username, user.created_at)
    with pytest.raises(ValueError):
        store.users.set_role(user.id, "owner")
    with pytest.raises(ValueError):
        store.users.set_locale(user.id, "xx")
    with pytest.raises(NotFound):
        store.users.set_password(999, "h")
    with pytest.raises(NotFound):
        store.users.get(999)


def test_the_last_admin_who_can_log_in_is_never_demoted_disabled_or_deleted(store):
    root = store.users.add("root", "h", "admin")
    spare = store.users.add("spare", "h", "admin")
    store.users.set_disabled(spare.id, True)  # a disabled admin does not count
    for change in (lambda: store.users.set_role(root.id, "viewer"), lambda: store.users.set_disabled(root.id, True),
                   lambda: store.users.delete(root.id)):
        with pytest.raises(LastAdmin):
            change()
    assert store.users.get(root.id).role == "admin" and not store.users.get(root.id).disabled
    store.users.delete(spare.id)  # the disabled one may go
    with pytest.raises(NotFound):
        store.users.delete(spare.id)


def test_a_deleted_user_is_gone_with_their_tokens_and_scope_but_not_their_audit_entries(store):
    from appliance.store.scopes import entry

    store.users.add("root", "h", "admin")
    gone = store.users.add("gone", "h", "viewer")
    store.users.set_scope_entries(gone.id, [entry("extension", "201")])
    store.users.add_api_token(gone.id, "crm", "token-hash")
    store.audit.add("gone", "login")
    store.users.delete(gone.id)
    assert store.users.by_name("gone") is None and store.users.by_token_hash("token-hash") is None
    assert store._db.execute("SELECT count(*) FROM user_scopes WHERE user_id = ?", [gone.id]).fetchone()[0] == 0
    assert [e.actor for e in store.audit.entries(action="login")] == ["gone"]
    assert store.audit.verify().broken_id is None


def test_a_password_set_for_the_user_is_temporary_until_they_choose_one(store):
    user = store.users.add("temp", "h", "viewer", temporary=True)
    assert store.users.get(user.id).password_temporary
    store.users.set_password(user.id, "own")
    assert not store.users.get(user.id).password_temporary
    store.users.set_password(user.id, "reset", temporary=True)
    assert store.users.get(user.id).password_temporary
    store.users.note_login(user.id, now=1000.0)
    assert store.users.get(user.id).last_login_at == 1000.0


def test_count_admins_counts_only_enabled_admins(store):
    assert store.users.count_admins() == 0
    first = store.users.add("a1", "h", "admin")
    store.users.add("a2", "h", "admin")
    store.users.add("v", "h", "viewer")
    assert store.users.count_admins() == 2
    store.users.set_disabled(first.id, True)
    assert store.users.count_admins() == 1
    store.users.set_disabled(first.id, False)
    assert store.users.count_admins() == 2


def test_a_token_finds_its_user_and_notes_when_it_was_used(store):
    alice = store.users.add("alice", "h", "viewer")
    token = store.users.add_api_token(alice.id, " nightly  export ", "tok-hash")
    assert (token.user_id, token.name, token.last_used_at) == (alice.id, "nightly export", None)

    assert store.users.by_token_hash("tok-hash", now=1234.5) == alice
    assert store.users.api_tokens(alice.id) == [
        type(token)(token.id, alice.id, "nightly export", token.created_at, 1234.5, token.expires_at, "read")
    ]
    assert token.expires_at == pytest.approx(token.created_at + 90 * 86400)
    assert store.users.by_token_hash("other-hash") is None


def test_disabling_a_user_or_a_new_password_revokes_their_tokens(store):
    alice = store.users.add("alice", "h", "admin")
    bob = store.users.add("bob", "h", "admin")
    store.users.add_api_token(alice.id, "script", "tok-hash")
    store.users.add_api_token(bob.id, "script", "bob-hash")
    store.users.set_disabled(alice.id, True)
    store.users.set_disabled(alice.id, False)
    assert store.users.by_token_hash("tok-hash") is None  # enabling brings none back
    assert store.users.api_tokens(alice.id) == []
    store.users.set_password(bob.id, "new-hash")
    assert store.users.by_token_hash("bob-hash") is None
    assert store.users.api_tokens(bob.id) == []


def test_a_token_stops_working_when_it_expires(store):
    alice = store.users.add("alice", "h", "viewer")
    token = store.users.add_api_token(alice.id, "script", "tok-hash", days=30)
    assert store.users.by_token_hash("tok-hash", now=token.expires_at - 1).id == alice.id
    assert store.users.by_token_hash("tok-hash", now=token.expires_at) is None
    with pytest.raises(ValueError):
        store.users.add_api_token(alice.id, "script", "other-hash", days=0)


def test_a_revoked_token_no_longer_works_and_only_its_owner_can_revoke_it(store):
    alice = store.users.add("alice", "h", "viewer")
    bob = store.users.add("bob", "h", "viewer")
    kept = store.users.add_api_token(alice.id, "kept", "hash-1")
    revoked = store.users.add_api_token(alice.id, "revoked", "hash-2")
    with pytest.raises(NotFound):
        store.users.revoke_api_token(bob.id, revoked.id)
    store.users.revoke_api_token(alice.id, revoked.id)
    assert store.users.by_token_hash("hash-2") is None
    assert [token.id for token in store.users.api_tokens(alice.id)] == [kept.id]
    with pytest.raises(NotFound):
        store.users.revoke_api_token(alice.id, revoked.id)


def test_a_token_needs_a_known_user_and_a_name(store):
    with pytest.raises(NotFound):
        store.users.add_api_token(999, "script", "h")
    alice = store.users.add("alice", "h", "viewer")
    with pytest.raises(ValueError):
        store.users.add_api_token(alice.id, "  ", "h")


def test_login_attempts_are_counted_per_key_within_the_window(store):
    limits = {"pair:alice|10.0.0.5": 3, "user:alice": None}
    for at in (100.0, 200.0, 300.0):
        assert store.logins.begin(limits, since=0, now=at) is not None
    assert store.logins.failures_since("pair:alice|10.0.0.5", 0) == 3
    assert store.logins.failures_since("pair:alice|10.0.0.5", 200.0) == 2  # the window includes its start
    assert store.logins.failures_since("pair:alice|10.0.0.5", 301.0) == 0
    # At the limit nothing more is counted, not even under the keys without a limit.
    assert store.logins.begin(limits, since=0, now=400.0) is None
    assert store.logins.failures_since("user:alice", 0) == 3
    # A later window starts afresh, and tells each key's count so far.
    rows, counts = store.logins.begin(limits, since=250.0, now=500.0)
    assert counts == {"pair:alice|10.0.0.5": 1, "user:alice": 1}


def test_a_forgiven_attempt_uncounts_its_rows_and_its_pair_only(store):
    first, _ = store.logins.begin({"pair:a|x": 5, "ip:x": 20}, since=0, now=100.0)
    store.logins.begin({"pair:b|x": 5, "ip:x": 20}, since=0, now=100.0)
    rows, _ = store.logins.begin({"pair:a|x": 5, "ip:x": 20}, since=0, now=100.0)
    store.logins.forgive(rows, "pair:a|x")
    assert store.logins.failures_since("pair:a|x", 0) == 0
    assert store.logins.failures_since("pair:b|x", 0) == 1
    assert store.logins.failures_since("ip:x", 0) == 2  # the guesses at others stay counted


def test_failures_older_than_a_day_are_forgotten_when_new_ones_come(store):
    store.logins.begin({"ip:10.0.0.5": None}, since=0, now=1000.0)
    store.logins.begin({"ip:10.0.0.6": None}, since=0, now=1000.0 + 25 * 3600)
    assert store.logins.failures_since("ip:10.0.0.5", 0) == 0