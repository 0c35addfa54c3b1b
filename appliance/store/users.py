"""Web users and their API tokens. Passwords and tokens arrive hashed; the store never sees
either in the clear, and looks a token up by its hash alone."""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable

from appliance.config import zone_named
from appliance.errors import BadInput, LastAdmin, NotFound
from appliance.store.concern import Concern, clock
from appliance.store.db import first, write
from appliance.store.names import has_hidden, visible
from appliance.store.records import ApiToken, User
from appliance.store.scopes import PARTIES, Scope, ScopeEntry

# What each role sees and may do: appliance/store/scopes.py.
ROLES = ("admin", "supervisor", "agent", "receptionist", "viewer")
LOCALES = ("en", "de")
TOKEN_SCOPES = ("read",)


def _user(row: dict) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        role=row["role"],
        locale=row["locale"],
        created_at=row["created_at"],
        disabled=bool(row["disabled"]),
        session_version=row["session_version"],
        may_edit=bool(row["may_edit"]),
        password_temporary=bool(row["password_temporary"]),
        last_login_at=row["last_login_at"],
        timezone=row["timezone"],
    )


def _token(row: dict) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        scope=row["scope"],
    )


def name_key(username: str) -> str:
    """What makes two user names one: "STRASSE", "straße" and "ſtrasse" are the same account,
    for logins and their throttle alike (NFKC folds compatibility forms, casefold the case)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username.strip()).casefold())


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise BadInput(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


class Users(Concern):
    def add(self, username: str, password_hash: str, role: str, locale: str = "en",
            temporary: bool = False) -> User:
        """`temporary`: the password was made for the user (by an admin), who must choose their
        own at first login."""
        username = username.strip()
        if not username:
            raise BadInput("a username needs at least one visible character")
        if has_hidden(username):  # refused, not changed: the person typing it must see the name kept
            raise BadInput("a username cannot hold control or invisible formatting characters")
        _check(role, ROLES, "role")
        _check(locale, LOCALES, "locale")
        with write(self._db):
            if first(self._db.query("SELECT 1 FROM users WHERE name_key = ?", [name_key(username)])):
                raise BadInput(f"there is already a user named {username!r} (in some letter case)")
            user_id = (
                self._db["users"]
                .insert(
                    {
                        "username": username,
                        "name_key": name_key(username),
                        "password_hash": password_hash,
                        "role": role,
                        "locale": locale,
                        "disabled": 0,
                        "created_at": time.time(),
                        "password_temporary": int(temporary),
                    }
                )
                .last_pk
            )
            return self.get(user_id)

    def get(self, user_id: int) -> User:
        row = first(self._db.query("SELECT * FROM users WHERE id = ?", [user_id]))
        if row is None:
            raise NotFound(f"there is no user {user_id}")
        return _user(row)

    def by_name(self, username: str) -> User | None:
        row = first(self._db.query("SELECT * FROM users WHERE name_key = ?", [name_key(username)]))
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        return [_user(row) for row in self._db.query("SELECT * FROM users ORDER BY name_key")]

    def _set(self, user_id: int, column: str, value) -> None:
        with write(self._db):
            if not self._db.execute(f"UPDATE users SET {column} = ? WHERE id = ?", [value, user_id]).rowcount:
                raise NotFound(f"there is no user {user_id}")

    def set_password(self, user_id: int, password_hash: str, temporary: bool = False) -> None:
        """A new password ends every session and revokes every API token made with the old one.
        `temporary`: set by an admin, to be replaced by the user at their next login."""
        with write(self._db):
            changed = self._db.execute(
                "UPDATE users SET password_hash = ?, password_temporary = ?, session_version = session_version + 1"
                " WHERE id = ?",
                [password_hash, int(temporary), user_id],
            ).rowcount
            self._db.execute("DELETE FROM api_tokens WHERE user_id = ?", [user_id])
        if not changed:
            raise NotFound(f"there is no user {user_id}")

    def end_sessions(self, user_id: int) -> None:
        """Void every session cookie issued to this user so far."""
        with write(self._db):
            if not self._db.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", [user_id]).rowcount:
                raise NotFound(f"there is no user {user_id}")

    def note_login(self, user_id: int, now: float | None = None) -> None:
        self._set(user_id, "last_login_at", clock(now))

    def _keep_an_admin(self, user_id: int) -> None:
        """Inside the write that would demote, disable or delete `user_id`: refuse it if they are
        the last admin who can log in (checked under the write lock, so two admins removing each
        other at once cannot both succeed)."""
        row = first(self._db.query("SELECT role, disabled FROM users WHERE id = ?", [user_id]))
        if row and row["role"] == "admin" and not row["disabled"] and self.count_admins() <= 1:
            raise LastAdmin("the last administrator cannot be demoted, disabled or deleted")

    def set_role(self, user_id: int, role: str) -> None:
        with write(self._db):
            if role != "admin":
                self._keep_an_admin(user_id)
            self._set(user_id, "role", _check(role, ROLES, "role"))

    def set_locale(self, user_id: int, locale: str) -> None:
        self._set(user_id, "locale", _check(locale, LOCALES, "locale"))

    def set_timezone(self, user_id: int, zone: str | None) -> None:
        """The user's own time zone (an IANA name); None: the site's."""
        if zone is not None and zone_named(zone) is None:
            raise BadInput(f"unknown time zone {zone!r}")
        self._set(user_id, "timezone", zone)

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disabling also ends the user's sessions and revokes their API tokens: enabling again
        brings none of them back."""
        with write(self._db):
            if disabled:
                self._keep_an_admin(user_id)
            self._set(user_id, "disabled", int(bool(disabled)))
            if disabled:
                self.end_sessions(user_id)
                self._db.execute("DELETE FROM api_tokens WHERE user_id = ?", [user_id])

    def delete(self, user_id: int) -> None:
        """Remove the account, its API tokens and scope; its sessions end with it (no row to load).
        The audit log names people by user name, so their entries stay as they were."""
        with write(self._db):
            self._keep_an_admin(user_id)
            self._db.execute("DELETE FROM api_tokens WHERE user_id = ?", [user_id])
            if not self._db.execute("DELETE FROM users WHERE id = ?", [user_id]).rowcount:
                raise NotFound(f"there is no user {user_id}")

    def set_may_edit(self, user_id: int, may_edit: bool) -> None:
        self._set(user_id, "may_edit", int(bool(may_edit)))

    def count_admins(self) -> int:
        """Admins who can still log in: the last one cannot be demoted, disabled or deleted."""
        return self._db.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled"
        ).fetchone()[0]

    def add_api_token(self, user_id: int, name: str, token_hash: str, days: float = 90,
                      scope: str = "read") -> ApiToken:
        """A token (read-only: the one scope so far) that expires `days` from now."""
        now = time.time()
        expires_at = now + days * 86400
        name = visible(name)
        if not name:
            raise BadInput("an API token needs a name, e.g. the script that uses it")
        if expires_at <= now:
            raise BadInput("an API token must expire in the future")
        _check(scope, TOKEN_SCOPES, "token scope")
        with write(self._db):
            self.get(user_id)  # NotFound
            token_id = (
                self._db["api_tokens"]
                .insert(
                    {
                        "user_id": user_id,
                        "name": name,
                        "token_hash": token_hash,
                        "created_at": now,
                        "last_used_at": None,
                        "expires_at": expires_at,
                        "scope": scope,
                    }
                )
                .last_pk
            )
            return _token(first(self._db.query("SELECT * FROM api_tokens WHERE id = ?", [token_id])))

    def by_token_hash(self, token_hash: str, now: float | None = None) -> User | None:
        """The token's user, noting the use; None for an unknown or expired token (or a disabled
        user's, though disabling revokes them)."""
        now = clock(now)
        with write(self._db):
            row = first(
                self._db.query(
                    "SELECT u.*, a.id AS token_id FROM api_tokens a JOIN users u ON u.id = a.user_id"
                    " WHERE a.token_hash = ? AND a.expires_at > ? AND NOT u.disabled",
                    [token_hash, now],
                )
            )
            if row is None:
                return None
            self._db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, row["token_id"]])
            return _user(row)

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        return [
            _token(row)
            for row in self._db.query("SELECT * FROM api_tokens WHERE user_id = ? ORDER BY id", [user_id])
        ]

    def revoke_api_token(self, user_id: int, token_id: int) -> None:
        """Only the token's own user_id revokes it, so one user cannot guess another's token ids."""
        with write(self._db):
            if not self._db.execute(
                "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", [token_id, user_id]
            ).rowcount:
                raise NotFound(f"user {user_id} has no API token {token_id}")

    # What each user sees (appliance/store/scopes.py)

    def scope_entries(self, user_id: int) -> list[ScopeEntry]:
        return [ScopeEntry(row["kind"], row["value"]) for row in self._db.query(
            "SELECT kind, value FROM user_scopes WHERE user_id = ? ORDER BY kind, value", [user_id])]

    def set_scope_entries(self, user_id: int, entries: Iterable[ScopeEntry]) -> None:
        """Replace the user's entries with these (made with scopes.entry())."""
        with write(self._db):
            if first(self._db.query("SELECT 1 FROM users WHERE id = ?", [user_id])) is None:
                raise NotFound(f"there is no user {user_id}")
            self._db.execute("DELETE FROM user_scopes WHERE user_id = ?", [user_id])
            self._db.conn.executemany(
                "INSERT OR IGNORE INTO user_scopes (user_id, kind, value) VALUES (?, ?, ?)",
                [(user_id, e.kind, e.value) for e in entries])

    def scope_for(self, user: User) -> Scope:
        if user.role == "admin":
            return Scope.ALL
        own = self.scope_entries(user.id)
        seen = list(own)
        groups = [e.value for e in own if e.kind == "group"]
        if user.role == "supervisor" and groups:
            # The team's members' parties (not their "all": that is a person's, not a team's).
            seen += [ScopeEntry(row["kind"], row["value"]) for row in self._db.query(
                "SELECT DISTINCT s.kind, s.value FROM user_scopes s WHERE s.kind IN ('extension', 'number', 'mailbox')"
                " AND s.user_id IN (SELECT g.user_id FROM user_scopes g WHERE g.kind = 'group'"
                " AND g.value IN (SELECT value FROM json_each(?)))", [json.dumps(groups)])]
        values = {kind: frozenset(e.value for e in seen if e.kind == kind) for kind in PARTIES}
        return Scope(
            everything=any(e.kind == "all" for e in own),
            extensions=values["extension"],
            numbers=values["number"],
            mailboxes=values["mailbox"],
            may_edit=user.may_edit,
        )
