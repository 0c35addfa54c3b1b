"""The schema as an ordered list of migration steps; step N brings `PRAGMA user_version` to N.

Never edit a released step: append a new one. Our own timestamps are unix floats (UTC seconds);
`calls.started_at` keeps the ISO 8601 text Asterisk (or an import) gave us.
"""

JOB_STATES = ("queued", "running", "done", "failed", "quarantined")

MIGRATIONS: list[tuple[str, ...]] = [
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
]
