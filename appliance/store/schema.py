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
]
