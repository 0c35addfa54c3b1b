"""The schema as an ordered list of migration steps; step N brings `PRAGMA user_version` to N.

Never edit a released step: append a new one. Our own timestamps are unix floats (UTC seconds);
`calls.started_at` keeps the ISO 8601 text Asterisk (or an import) gave us. A step is SQL
statements, or a function of the connection where SQL alone cannot do it.
"""

import sqlite3
from collections.abc import Callable

from appliance.store.chain import chain_existing

JOB_STATES = ("queued", "running", "done", "failed", "quarantined")

# What people write between the digits of a number: "+49 (30) 123-45 67", "030/1234567".
# Step 4's triggers and digits columns are built from it: changing it needs a new step that
# recreates them.
NUMBER_PUNCTUATION = " -()/."


# The figures of a call's metrics JSON (CallMetrics.to_dict()) the dashboard sums, as SQL over
# the JSON text `{data}`: kept as columns of call_metrics (step 24, store/metrics.py).
METRIC_COLUMNS = {
    "silence_seconds": "json_extract({data}, '$.silence_seconds')",
    "talk_0": "json_extract({data}, '$.talk_seconds[0]')",
    "talk_1": "json_extract({data}, '$.talk_seconds[1]')",
    "talk_total": "(SELECT total(value) FROM json_each({data}, '$.talk_seconds'))",
    "interruptions_0": "(SELECT count(*) FROM json_each({data}, '$.interruptions') WHERE json_extract(value, '$.by') = 0)",
    "interruptions_1": "(SELECT count(*) FROM json_each({data}, '$.interruptions') WHERE json_extract(value, '$.by') = 1)",
    "interruptions_total": "json_array_length({data}, '$.interruptions')",
}


# The columns of calls the dashboard's charts read besides its start: step 34's indexes hold
# them, so a chart reads no row of calls. Reading another one needs a new step that rebuilds them.
DASHBOARD_COLUMNS = "started_at, created_at, duration, direction, caller_digits, callee_digits"


def digits_sql(column: str) -> str:
    """SQL for `column` with NUMBER_PUNCTUATION removed: "+49 (30) 123-45" -> "+493012345"."""
    for char in NUMBER_PUNCTUATION:
        column = f"replace({column}, '{char}', '')"
    return column


def call_day(alias: str = "") -> str:
    """SQL for the call's start as a UTC day, the expression the calls_day index is built on.

    SQLite's date() turns "2024-05-01T23:30:00-02:00" into 2024-05-02; a started_at it cannot
    read falls back to the day the appliance learnt of the call. A started_at of "now" counts as
    unreadable: date('now') is not allowed in an index (and would be a different day each day).
    Filters must use this exact expression, or SQLite cannot use the index.
    """
    started, created = f"{alias}started_at", f"{alias}created_at"
    return (
        f"COALESCE(date(CASE WHEN {started} LIKE 'now' THEN NULL ELSE {started} END),"
        f" date({created}, 'unixepoch'))"
    )


def call_start(alias: str = "") -> str:
    """SQL for the call's start as unix seconds, the expression the calls_start index is built on:
    the list's order. Offsets count ("09:10+01:00" is before "08:55Z"); a started_at that
    cannot be read (or "now", see call_day) falls back to when the appliance learnt of the call.
    """
    started, created = f"{alias}started_at", f"{alias}created_at"
    return f"COALESCE(unixepoch(CASE WHEN {started} LIKE 'now' THEN NULL ELSE {started} END), {created})"


def _call_numbers_trigger(event: str) -> str:
    """Keep calls.caller_digits/callee_digits and the call_numbers list in step with the numbers."""
    inserts = "".join(
        f"""
            INSERT INTO call_numbers (digits, number)
            SELECT {digits_sql(f"NEW.{party}")}, NEW.{party} WHERE NEW.{party} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM call_numbers WHERE number = NEW.{party}
                              AND digits = {digits_sql(f"NEW.{party}")});"""
        for party in ("caller", "callee")
    )
    name = "insert" if event == "INSERT" else "update"
    return f"""CREATE TRIGGER calls_{name}_numbers AFTER {event} ON calls BEGIN
            UPDATE calls SET caller_digits = {digits_sql("NEW.caller")},
              callee_digits = {digits_sql("NEW.callee")} WHERE id = NEW.id;{inserts}
        END"""

MIGRATIONS: list[tuple[str | Callable[[sqlite3.Connection], None], ...]] = [
    (
        """CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            uniqueid TEXT UNIQUE,
            linkedid TEXT,
            caller TEXT,
            callee TEXT,
            direction TEXT,
            started_at TEXT,
            kind TEXT NOT NULL DEFAULT 'call',
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            call_id INTEGER NOT NULL REFERENCES calls(id),
            options TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX recordings_call ON recordings(call_id)",
        # One row per file; UNIQUE(path) is what makes intake idempotent across processes.
        """CREATE TABLE recording_files (
            recording_id INTEGER NOT NULL REFERENCES recordings(id),
            position INTEGER NOT NULL,
            path TEXT NOT NULL UNIQUE,
            PRIMARY KEY (recording_id, position)
        )""",
        f"""CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL UNIQUE REFERENCES recordings(id),
            state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN {JOB_STATES!r}),
            attempts INTEGER NOT NULL DEFAULT 0,
            progress REAL NOT NULL DEFAULT 0,
            error TEXT,
            lease_owner TEXT,
            lease_expires REAL,
            not_before REAL NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX jobs_state ON jobs(state, not_before)",
        # UNIQUE(recording_id): the last guard against a recording getting two transcripts.
        """CREATE TABLE transcripts (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL UNIQUE REFERENCES recordings(id),
            language TEXT NOT NULL,
            engine TEXT NOT NULL,
            model TEXT NOT NULL,
            duration REAL NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE speakers (
            transcript_id INTEGER NOT NULL REFERENCES transcripts(id),
            idx INTEGER NOT NULL,
            label TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (transcript_id, idx)
        )""",
        # Words are only ever read with their turn, so they live in it as JSON:
        # [[start, end, word, probability], ...].
        """CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            transcript_id INTEGER NOT NULL REFERENCES transcripts(id),
            idx INTEGER NOT NULL,
            speaker INTEGER NOT NULL,
            start_time REAL NOT NULL,
            end_time REAL NOT NULL,
            text TEXT NOT NULL,
            words TEXT NOT NULL DEFAULT '[]',
            UNIQUE (transcript_id, idx)
        )""",
        # rowid = turns.id. Caller and callee ride along on every turn so a query can combine
        # a number with spoken words; remove_diacritics 2 lets "muller" find "Müller".
        """CREATE VIRTUAL TABLE turns_fts USING fts5(
            text, speaker, caller, callee, tokenize = 'unicode61 remove_diacritics 2'
        )""",
        """CREATE TABLE vocabulary (
            term TEXT PRIMARY KEY COLLATE NOCASE,
            created_at REAL NOT NULL
        )""",
    ),
    (
        # Users of the web UI. Passwords arrive hashed; `name_key` is the casefolded username,
        # so "Alice" and "ALICE" (and "Jürgen" and "JÜRGEN") are one account.
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL,
            name_key TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            locale TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            last_used_at REAL
        )""",
        "CREATE INDEX api_tokens_user ON api_tokens(user_id)",
        # One row per failed login; `key` names what is throttled ("user:alice", "ip:10.0.0.5").
        "CREATE TABLE login_failures (key TEXT NOT NULL, at REAL NOT NULL)",
        "CREATE INDEX login_failures_key ON login_failures(key, at)",
        "CREATE INDEX login_failures_at ON login_failures(at)",
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            target TEXT,
            detail TEXT
        )""",
        "CREATE INDEX audit_log_at ON audit_log(at)",
        "CREATE INDEX audit_log_action ON audit_log(action, at)",
        "CREATE INDEX audit_log_actor ON audit_log(actor, at)",
        # When each call last changed (a job moved, a transcript arrived), for the web's live
        # updates. Kept by triggers, so no writer can forget it. A job's `now` is taken before
        # its transaction waits for the write lock, so commits can land out of timestamp order;
        # the mark is therefore pushed past every mark already stored, and a reader that
        # remembers the highest mark it saw never misses a later commit.
        """CREATE TABLE call_changes (
            call_id INTEGER PRIMARY KEY REFERENCES calls(id),
            changed_at REAL NOT NULL
        )""",
        "CREATE INDEX call_changes_at ON call_changes(changed_at)",
        # Files of deleted calls stay known, so the spool sweep does not bring a deleted call
        # back when removing its file failed or has not happened yet.
        """CREATE TABLE deleted_files (
            path TEXT PRIMARY KEY,
            deleted_at REAL NOT NULL
        )""",
        *(
            f"""CREATE TRIGGER {table}_{event}_marks_call AFTER {event} ON {table} BEGIN
                INSERT INTO call_changes (call_id, changed_at)
                SELECT r.call_id, max(NEW.{column},
                    COALESCE((SELECT max(changed_at) FROM call_changes), 0) + 0.000001)
                FROM recordings r WHERE r.id = NEW.recording_id
                ON CONFLICT (call_id) DO UPDATE SET changed_at = excluded.changed_at;
            END"""
            for table, event, column in (
                ("jobs", "INSERT", "updated_at"),
                ("jobs", "UPDATE", "updated_at"),
                ("transcripts", "INSERT", "created_at"),
            )
        ),
        """INSERT INTO call_changes (call_id, changed_at)
        SELECT r.call_id, max(max(j.updated_at), COALESCE(max(t.created_at), 0))
        FROM recordings r JOIN jobs j ON j.recording_id = r.id
        LEFT JOIN transcripts t ON t.recording_id = r.id GROUP BY r.call_id""",
    ),
    # Step 3: mail about voicemails and voice notes, one row per call, so a mail is sent once
    # and a failed one is retried with back-off, visibly.
    (
        """CREATE TABLE mail_deliveries (
            call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at REAL NOT NULL,
            sent_at REAL
        )""",
    ),
    # Step 4: the call list and search at 100 000 calls (see bench/search.py).
    (
        # The numbers without NUMBER_PUNCTUATION, as the number filter compares them, and every
        # number ever seen once (digits and as written), so a filter scans the few thousand
        # distinct numbers instead of every call. Triggers keep both in step with any writer
        # (intake, a later enqueue that fills in a number, an import); call_numbers keeps the
        # numbers of deleted calls, which then match nothing.
        "ALTER TABLE calls ADD COLUMN caller_digits TEXT",
        "ALTER TABLE calls ADD COLUMN callee_digits TEXT",
        """CREATE TABLE call_numbers (
            digits TEXT NOT NULL,
            number TEXT NOT NULL,
            PRIMARY KEY (digits, number)
        ) WITHOUT ROWID""",
        _call_numbers_trigger("INSERT"),
        _call_numbers_trigger("UPDATE OF caller, callee"),
        f"""UPDATE calls SET caller_digits = {digits_sql("caller")},
            callee_digits = {digits_sql("callee")}""",
        """INSERT INTO call_numbers (digits, number)
        SELECT caller_digits, caller FROM calls WHERE caller IS NOT NULL
        UNION SELECT callee_digits, callee FROM calls WHERE callee IS NOT NULL""",
        "CREATE INDEX calls_caller_digits ON calls(caller_digits)",
        "CREATE INDEX calls_callee_digits ON calls(callee_digits)",
        # The lowest and highest turns.id of the call's transcripts, and how many turns they
        # have: a day range becomes a range of turn ids before search reads the full-text index
        # (and when that range holds no other call's turns, search need not check its hits).
        # Turns are only ever added, and deleted with their call.
        "ALTER TABLE calls ADD COLUMN first_turn INTEGER",
        "ALTER TABLE calls ADD COLUMN last_turn INTEGER",
        "ALTER TABLE calls ADD COLUMN turn_count INTEGER NOT NULL DEFAULT 0",
        """CREATE TRIGGER turns_insert_counts_call AFTER INSERT ON turns BEGIN
            UPDATE calls SET first_turn = min(COALESCE(first_turn, NEW.id), NEW.id),
              last_turn = max(COALESCE(last_turn, NEW.id), NEW.id), turn_count = turn_count + 1
            WHERE id = (SELECT r.call_id FROM transcripts tr
                        JOIN recordings r ON r.id = tr.recording_id WHERE tr.id = NEW.transcript_id);
        END""",
        """UPDATE calls SET (first_turn, last_turn, turn_count) = (
            SELECT min(t.id), max(t.id), count(t.id) FROM recordings r
            JOIN transcripts tr ON tr.recording_id = r.id JOIN turns t ON t.transcript_id = tr.id
            WHERE r.call_id = calls.id)""",
        # The day filter's index; the turn columns ride along for search.
        f"CREATE INDEX calls_day ON calls({call_day()}, first_turn, last_turn, turn_count)",
        "CREATE INDEX calls_kind ON calls(kind)",
        # The newest turns again, with their speaker's role as a column of its own: bm25 reads
        # statistics over the whole table it ranks in (a full pass over every hit of each
        # phrase), so common words are ranked and counted here, where that pass is short.
        # appliance.store.fts keeps it to the newest fts.RECENT_TURNS turn ids.
        """CREATE VIRTUAL TABLE turns_recent USING fts5(
            text, speaker, caller, callee, role, tokenize = 'unicode61 remove_diacritics 2'
        )""",
        """INSERT INTO turns_recent (rowid, text, speaker, caller, callee, role)
        SELECT f.rowid, f.text, f.speaker, f.caller, f.callee, COALESCE(s.role, 'speaker')
        FROM turns_fts f JOIN turns t ON t.id = f.rowid
        LEFT JOIN speakers s ON s.transcript_id = t.transcript_id AND s.idx = t.speaker
        WHERE f.rowid > (SELECT COALESCE(max(id), 0) FROM turns) - 200000""",
    ),
    # Step 5: a session version per user; logging out or a new password raises it, which
    # ends every session cookie issued before.
    ("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0",),
    # Step 6: retention, legal hold and operations state (appliance/store/retention.py, ops.py).
    (
        # A call under legal hold is never deleted, by anyone: the trigger stops every path
        # (retention, erasure, the delete button) at the database itself.
        "ALTER TABLE calls ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0",
        """CREATE TRIGGER calls_legal_hold_blocks_delete BEFORE DELETE ON calls
        WHEN OLD.legal_hold BEGIN
            SELECT RAISE(ABORT, 'the call is under legal hold');
        END""",
        # Retention removed the audio and kept the transcript; the file rows stay, so the
        # spool sweep never takes the file again.
        "ALTER TABLE recordings ADD COLUMN audio_deleted_at REAL",
        # Policies made in the admin UI (the settings file may hold more; those come first).
        # NULL matches anything; days NULL keeps forever.
        """CREATE TABLE retention_policies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            direction TEXT,
            number_pattern TEXT,
            mailbox TEXT,
            audio_days INTEGER,
            transcript_days INTEGER,
            created_at REAL NOT NULL
        )""",
        # Small facts about the running box: when a worker was last alive, the last retention
        # run, the last low-disk mail.
        """CREATE TABLE ops_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
    ),
    # Step 7: live transcription of calls in progress (appliance/store/live.py). The live
    # service and the web UI are separate processes: the store is where both meet, and event
    # ids let a browser's event stream resume where it left off. Pruned once the batch
    # transcript has replaced the live draft.
    (
        """CREATE TABLE live_calls (
            id INTEGER PRIMARY KEY,
            uniqueid TEXT NOT NULL UNIQUE,
            caller TEXT,
            callee TEXT,
            direction TEXT,
            state TEXT NOT NULL CHECK (state IN ('live', 'unavailable', 'ended')),
            reason TEXT,
            started_at REAL NOT NULL,
            seen_at REAL NOT NULL,
            ended_at REAL
        )""",
        # AUTOINCREMENT: a replaced partial's id is never given again, or a stream that had
        # sent it would skip the text that took its place.
        """CREATE TABLE live_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            live_call_id INTEGER NOT NULL REFERENCES live_calls(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            final INTEGER NOT NULL,
            text TEXT NOT NULL,
            start REAL,
            end REAL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX live_events_call ON live_events(live_call_id, id)",
    ),
    # Step 8: call insights (keywords, summary, entities) with their own full-text index, and
    # CRM webhooks with one delivery row per (webhook, call, event): the delivery log.
    (
        """CREATE TABLE call_insights (
            call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
            transcript_id INTEGER NOT NULL,
            keywords TEXT NOT NULL,
            summary TEXT NOT NULL,
            data TEXT NOT NULL,
            error TEXT,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX call_insights_transcript ON call_insights(transcript_id)",
        # rowid = call id; triggers keep it in step with call_insights whoever writes or deletes.
        """CREATE VIRTUAL TABLE insights_fts USING fts5(
            keywords, summary, tokenize = 'unicode61 remove_diacritics 2'
        )""",
        """CREATE TRIGGER call_insights_insert_fts AFTER INSERT ON call_insights BEGIN
            INSERT INTO insights_fts (rowid, keywords, summary) VALUES (NEW.call_id, NEW.keywords, NEW.summary);
        END""",
        """CREATE TRIGGER call_insights_update_fts AFTER UPDATE ON call_insights BEGIN
            DELETE FROM insights_fts WHERE rowid = OLD.call_id;
            INSERT INTO insights_fts (rowid, keywords, summary) VALUES (NEW.call_id, NEW.keywords, NEW.summary);
        END""",
        """CREATE TRIGGER call_insights_delete_fts AFTER DELETE ON call_insights BEGIN
            DELETE FROM insights_fts WHERE rowid = OLD.call_id;
        END""",
        """CREATE TABLE webhooks (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            fields TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            call_id INTEGER REFERENCES calls(id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_status INTEGER,
            last_error TEXT,
            next_attempt_at REAL NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (webhook_id, call_id, event)
        )""",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at)",
        "CREATE INDEX webhook_deliveries_call ON webhook_deliveries(call_id)",
    ),
    # Step 9: the voice menu's log (appliance/store/menu.py): one row per try, written while
    # the call is still in the menu, so before the call's row exists; it joins the call by
    # Asterisk's uniqueid (the recorded channel's) or linkedid, and goes when the call goes.
    (
        """CREATE TABLE menu_interactions (
            id INTEGER PRIMARY KEY,
            uniqueid TEXT NOT NULL,
            linkedid TEXT,
            menu TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('speech', 'dtmf', 'silence')),
            heard TEXT,
            choice TEXT,
            destination TEXT,
            confidence REAL,
            engine TEXT,
            answer_seconds REAL,
            decision_ms REAL,
            at REAL NOT NULL
        )""",
        "CREATE INDEX menu_interactions_uniqueid ON menu_interactions(uniqueid)",
        "CREATE INDEX menu_interactions_linkedid ON menu_interactions(linkedid)",
        """CREATE TRIGGER calls_delete_menu_interactions AFTER DELETE ON calls BEGIN
            DELETE FROM menu_interactions WHERE uniqueid = OLD.uniqueid OR linkedid = OLD.linkedid;
        END""",
    ),
    # Step 10: who sees which call (appliance/store/scopes.py). A user's scope is a set of
    # entries (extension, number, mailbox, group, all); admins see everything without any.
    # Users from before keep seeing every call (an explicit 'all' entry an admin can narrow),
    # but lose the rename they had: edits now need the permission.
    (
        """CREATE TABLE user_scopes (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('all', 'extension', 'number', 'mailbox', 'group')),
            value TEXT NOT NULL,
            PRIMARY KEY (user_id, kind, value)
        ) WITHOUT ROWID""",
        "CREATE INDEX user_scopes_group ON user_scopes(kind, value)",
        "ALTER TABLE users ADD COLUMN may_edit INTEGER NOT NULL DEFAULT 0",
        "INSERT INTO user_scopes (user_id, kind, value) SELECT id, 'all', '' FROM users WHERE role <> 'admin'",
    ),
    # Step 11: recordings imported from another system's tree (FreePBX's monitor folder), by
    # source path: a file is imported once, even after its call was deleted here. No foreign
    # key on purpose: the row outlives the call.
    (
        """CREATE TABLE imported_sources (
            system TEXT NOT NULL,
            source TEXT NOT NULL,
            call_id INTEGER,
            imported_at REAL NOT NULL,
            PRIMARY KEY (system, source)
        ) WITHOUT ROWID""",
    ),
    # Step 12: the legs of one conversation are found by linkedid (appliance/store/calls.py).
    ("CREATE INDEX calls_linkedid ON calls(linkedid) WHERE linkedid IS NOT NULL",),
    # Step 13: the audit log becomes evidence (appliance/store/chain.py): every row carries a
    # hash chained to the row before (older rows are hashed here, in order), and SQLite
    # itself refuses to change or remove a row, whatever code or tool asks.
    (
        "ALTER TABLE audit_log ADD COLUMN hash TEXT",
        chain_existing,
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
            SELECT RAISE(ABORT, 'the audit log is append-only');
        END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
            SELECT RAISE(ABORT, 'the audit log is append-only');
        END""",
    ),
    # Step 14: an API token has a scope (what it may do; 'read': the read-only API) and an
    # expiry (appliance/store/users.py). Tokens from before expire 90 days after the upgrade.
    (
        "ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'read' CHECK (scope IN ('read'))",
        "ALTER TABLE api_tokens ADD COLUMN expires_at REAL NOT NULL DEFAULT 0",
        "UPDATE api_tokens SET expires_at = CAST(strftime('%s', 'now') AS REAL) + 90 * 86400",
    ),
    # Step 15: accounts (appliance/store/users.py). A password an admin set (generated on the
    # users page or by `appliance users`) is temporary: the user must choose their own at the
    # next login. And when each user last logged in, for the users page.
    (
        "ALTER TABLE users ADD COLUMN password_temporary INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE users ADD COLUMN last_login_at REAL",
    ),
    # Step 16: conversation metrics per call (appliance/store/metrics.py), for the call's newest
    # transcript; `exact` says whether they were measured on channels or estimated from turns.
    (
        """CREATE TABLE call_metrics (
            call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
            transcript_id INTEGER NOT NULL,
            exact INTEGER NOT NULL,
            data TEXT NOT NULL,
            error TEXT,
            created_at REAL NOT NULL
        )""",
    ),
    # Step 17: times and order. A user's own time zone (NULL: the site's); the call list sorted
    # by start or duration through an index each: the duration of the call's newest transcript
    # is kept on the call by a trigger (transcripts are only added, and deleted with the call).
    (
        "ALTER TABLE users ADD COLUMN timezone TEXT",
        f"CREATE INDEX calls_start ON calls({call_start()}, id)",
        "ALTER TABLE calls ADD COLUMN duration REAL",
        """CREATE TRIGGER transcripts_insert_call_duration AFTER INSERT ON transcripts BEGIN
            UPDATE calls SET duration = NEW.duration
            WHERE id = (SELECT call_id FROM recordings WHERE id = NEW.recording_id);
        END""",
        """UPDATE calls SET duration = (SELECT t.duration FROM transcripts t
            JOIN recordings r ON r.id = t.recording_id WHERE r.call_id = calls.id ORDER BY t.id DESC LIMIT 1)""",
        "CREATE INDEX calls_duration ON calls(duration, id)",
    ),
    # Step 18: people's corrections of a transcript (appliance/store/edits.py): the turns as
    # transcribed, kept at the first edit, and one revision per edit (who, when, what). They go
    # with their transcript, whatever deletes it.
    (
        """CREATE TABLE transcript_originals (
            transcript_id INTEGER PRIMARY KEY REFERENCES transcripts(id) ON DELETE CASCADE,
            turns TEXT NOT NULL,
            kept_at REAL NOT NULL
        )""",
        """CREATE TABLE transcript_revisions (
            id INTEGER PRIMARY KEY,
            transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
            actor TEXT NOT NULL,
            at REAL NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('word', 'speaker', 'split', 'merge')),
            turn INTEGER NOT NULL,
            before TEXT NOT NULL,
            after TEXT NOT NULL
        )""",
        "CREATE INDEX transcript_revisions_transcript ON transcript_revisions(transcript_id)",
    ),
    # Step 19: PBXs on other machines that upload their recordings (appliance/store/pbx.py),
    # each with its own token (only its SHA-256 is kept) and the zone its file names use.
    (
        """CREATE TABLE pbx_sources (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL UNIQUE,
            timezone TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            last_upload_at REAL
        )""",
    ),
    # Step 20: remote transcription workers as the box sees them through their reports
    # (appliance/store/workers.py): the jobs page shows each one's model, work and speed.
    (
        """CREATE TABLE remote_workers (
            name TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            device TEXT NOT NULL,
            job_id INTEGER,
            jobs_done INTEGER NOT NULL DEFAULT 0,
            audio_seconds REAL NOT NULL DEFAULT 0,
            busy_seconds REAL NOT NULL DEFAULT 0,
            last_seen REAL NOT NULL
        ) WITHOUT ROWID""",
    ),
    # Step 21: the PBX's call records (CDR) of the calls we hold (appliance/store/cdr.py), kept
    # with the call and deleted with it.
    (
        """CREATE TABLE call_records (
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            uniqueid TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            data TEXT NOT NULL,
            linked_at REAL NOT NULL,
            PRIMARY KEY (call_id, source, uniqueid, sequence)
        )""",
    ),
    # Step 22: the words of every transcript as the search index holds them (fts5vocab reads
    # the index itself: nothing to keep in step), for "did you mean" (appliance/store/search.py).
    ("CREATE VIRTUAL TABLE turns_vocab USING fts5vocab(turns_fts, 'row')",),
    # Step 23: the address book (appliance/store/contacts.py): a name per number or
    # extension, keyed by its digits as the number filter compares them.
    (
        """CREATE TABLE contacts (
            digits TEXT PRIMARY KEY,
            number TEXT NOT NULL,
            name TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('manual', 'csv', 'phones', 'call')),
            updated_at REAL NOT NULL
        ) WITHOUT ROWID""",
    ),
    # Step 24: the figures the dashboard sums (appliance/store/dashboard.py) as plain columns of
    # call_metrics, taken from its JSON when it is saved: summing a year of calls then reads no
    # JSON at all. Speaker 0 is the caller's side, 1 the callee's.
    (
        *(f"ALTER TABLE call_metrics ADD COLUMN {name} REAL" for name in METRIC_COLUMNS),
        "UPDATE call_metrics SET " + ", ".join(f"{name} = {sql.format(data='data')}"
                                               for name, sql in METRIC_COLUMNS.items()),
    ),
    # Step 25: which voicemails and voice notes each user has opened (appliance/store/heard.py);
    # gone with the call or the user.
    (
        """CREATE TABLE heard (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            heard_at REAL NOT NULL,
            PRIMARY KEY (user_id, call_id)
        ) WITHOUT ROWID""",
    ),
    # Step 26: quality reviews (appliance/store/reviews.py): the site's scorecard (criteria an
    # admin defines), one review per call and reviewer with its answers and weighted score, and
    # comments at a moment of a call. Gone with the call; a deleted reviewer's name stays.
    (
        """CREATE TABLE scorecard_criteria (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('yes_no', 'scale')),
            weight REAL NOT NULL CHECK (weight > 0),
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            reviewer_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            reviewer TEXT NOT NULL,
            answers TEXT NOT NULL,
            score REAL,
            note TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (call_id, reviewer_id)
        )""",
        """CREATE TABLE call_comments (
            id INTEGER PRIMARY KEY,
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            author TEXT NOT NULL,
            at_seconds REAL NOT NULL,
            text TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX call_comments_call ON call_comments(call_id, at_seconds)",
    ),
    # Step 27: a job's error as its case (ApplianceError.code) and that case's values (JSON), so
    # pages say it in the reader's language; `error` keeps the English text (CLI, API, logs).
    (
        "ALTER TABLE jobs ADD COLUMN error_code TEXT",
        "ALTER TABLE jobs ADD COLUMN error_values TEXT",
    ),
    # Step 28: how far each CDR source was read (appliance/asterisk/cdr.py says what a mark
    # means: Master.csv's file and byte offset), saved with the rows it linked.
    (
        """CREATE TABLE cdr_marks (
            source TEXT PRIMARY KEY,
            mark TEXT NOT NULL,
            updated_at REAL NOT NULL
        ) WITHOUT ROWID""",
    ),
    # Step 29: phrase alerts (appliance/store/alerts.py): the phrases an admin watches for, which
    # transcript of each call was last checked, and the calls' hits (gone with the call or the
    # phrase).
    (
        """CREATE TABLE phrase_rules (
            id INTEGER PRIMARY KEY,
            phrase TEXT NOT NULL UNIQUE,
            notify INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE phrase_checks (
            call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
            transcript_id INTEGER NOT NULL,
            checked_at REAL NOT NULL
        )""",
        """CREATE TABLE phrase_hits (
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            rule_id INTEGER NOT NULL REFERENCES phrase_rules(id) ON DELETE CASCADE,
            speaker INTEGER NOT NULL,
            at_seconds REAL NOT NULL,
            PRIMARY KEY (call_id, rule_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX phrase_hits_rule ON phrase_hits(rule_id)",
    ),
    # Step 30: each user's saved filters of the calls list (appliance/store/saved.py).
    (
        """CREATE TABLE saved_filters (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            query TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (user_id, name)
        )""",
    ),
    # Step 31: linkedids an attended transfer joined into one conversation (the PBX's CEL,
    # appliance/store/cdr.py): the consultation call's linkedid and the first call's.
    (
        """CREATE TABLE conversation_links (
            linkedid TEXT PRIMARY KEY,
            joined_to TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
    # Step 32: names from the LAN CRM (appliance/webhooks/answers.py): a webhook marked as a name
    # source, the address book's source 'crm' (its CHECK is rebuilt: SQLite cannot alter one),
    # and a delivery's note on the answer (English, and its case and values for other languages).
    (
        "ALTER TABLE webhooks ADD COLUMN name_source INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE webhook_deliveries ADD COLUMN note TEXT",
        "ALTER TABLE webhook_deliveries ADD COLUMN note_code TEXT",
        "ALTER TABLE webhook_deliveries ADD COLUMN note_values TEXT",
        """CREATE TABLE contacts_new (
            digits TEXT PRIMARY KEY,
            number TEXT NOT NULL,
            name TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('manual', 'csv', 'phones', 'call', 'crm')),
            updated_at REAL NOT NULL
        ) WITHOUT ROWID""",
        "INSERT INTO contacts_new SELECT digits, number, name, source, updated_at FROM contacts",
        "DROP TABLE contacts",
        "ALTER TABLE contacts_new RENAME TO contacts",
    ),
    # Step 33: phrase alerts by mail (appliance/store/alert_mail.py): each phrase's recipients (a
    # JSON list of addresses) and its mail's language; one delivery per call and recipient, so a
    # correction that finds the phrase again does not mail again, and a failed one is retried.
    (
        "ALTER TABLE phrase_rules ADD COLUMN mail_to TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE phrase_rules ADD COLUMN mail_language TEXT NOT NULL DEFAULT 'en'",
        """CREATE TABLE alert_mails (
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at REAL NOT NULL,
            created_at REAL NOT NULL,
            sent_at REAL,
            PRIMARY KEY (call_id, recipient)
        ) WITHOUT ROWID""",
        "CREATE INDEX alert_mails_due ON alert_mails(state, next_attempt_at)",
    ),
    # Step 34: the dashboard's range of one kind of call (store/dashboard.py) as one range of an
    # index, by UTC day or by instant as CallFilter phrases the bounds, holding every column of
    # calls its charts read: a year is then read from the index alone, not through calls_kind
    # (which matched every call) and the table. A new index on existing rows needs no backfill.
    tuple(f"CREATE INDEX calls_kind_{name} ON calls(kind, {start}, {DASHBOARD_COLUMNS})"
          for name, start in (("day", call_day()), ("start", call_start()))),
    # Step 35: a yes/no criterion of the scorecard a phrase rule answers (appliance/analytics/
    # scorecard.py): the phrase, whose words it is looked for in (a party, or anyone), and whether
    # saying it meets the criterion ("greeting with the practice name") or fails it ("no promise").
    (
        "ALTER TABLE scorecard_criteria ADD COLUMN phrase TEXT",
        "ALTER TABLE scorecard_criteria ADD COLUMN phrase_party TEXT NOT NULL DEFAULT ''"
        " CHECK (phrase_party IN ('', 'caller', 'callee'))",
        "ALTER TABLE scorecard_criteria ADD COLUMN phrase_meets INTEGER NOT NULL DEFAULT 1",
    ),
]
