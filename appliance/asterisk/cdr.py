"""The PBX's call record (CDR), read where a site keeps it, linked to the calls we transcribed.

Three sources, each optional and read-only: Asterisk's `cdr-csv/Master.csv`, `cdr_sqlite3`'s
database, and FreePBX's `asteriskcdrdb` on MariaDB/MySQL (a read-only user on the LAN: the
appliance only ever sends SELECT). A CDR row belongs to a call of ours when its uniqueid is the
call's (the recorded leg) or its linkedid is the call's linkedid (the other legs of a transfer or
a queue call). Only rows of calls we hold are kept, with the call: retention and erasure of the
call take its records along, and nothing is kept about calls that were never recorded.
"""

from __future__ import annotations

import csv
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from appliance.config import box_zone, Settings, zone_named
from appliance.errors import ConfigError
from appliance.store import Store
from appliance.store.records import CallRecord

log = logging.getLogger(__name__)

# Master.csv as cdr_csv writes it with the appliance's cdr.conf (loguniqueid, loguserfield,
# newcdrcolumns): Asterisk's fixed column order.
CSV_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
               "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield",
               "peeraccount", "linkedid", "sequence")
# Calls of the last days are in the file's end; a whole year of CSV is not re-read every scan.
CSV_TAIL_BYTES = 8 << 20


def _time(value, zone: ZoneInfo | timezone) -> str | None:
    """An ISO UTC time from the CDR's local "YYYY-MM-DD HH:MM:SS" (or a datetime from MySQL)."""
    if value in (None, "", "0000-00-00 00:00:00"):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _record(row: dict, zone: ZoneInfo | timezone) -> CallRecord | None:
    def text(name: str) -> str | None:
        value = row.get(name)
        return str(value).strip() or None if value is not None else None

    def number(name: str) -> float | None:
        try:
            return float(row.get(name))
        except (TypeError, ValueError):
            return None

    if not text("uniqueid"):
        return None
    try:
        started = _time(row.get("start") or row.get("calldate"), zone)
        answered, ended = _time(row.get("answer"), zone), _time(row.get("end"), zone)
    except ValueError:
        return None  # a row a human edited into something that is no time
    sequence = number("sequence")
    return CallRecord(
        uniqueid=text("uniqueid"), linkedid=text("linkedid"), sequence=int(sequence or 0),
        started_at=started, answered_at=answered, ended_at=ended,
        src=text("src"), dst=text("dst"), cnum=text("cnum"), cnam=text("cnam"), did=text("did"),
        dcontext=text("dcontext"), channel=text("channel"), dstchannel=text("dstchannel"),
        lastapp=text("lastapp"), lastdata=text("lastdata"), disposition=text("disposition"),
        duration=number("duration"), billsec=number("billsec"), recordingfile=text("recordingfile"),
    )


def read_csv(path: Path, zone: ZoneInfo | timezone) -> list[CallRecord]:
    with open(path, "rb") as raw:
        size = raw.seek(0, 2)
        raw.seek(max(0, size - CSV_TAIL_BYTES))
        tail = raw.read().decode("utf-8", errors="replace")
    lines = tail.splitlines()
    if size > CSV_TAIL_BYTES:
        lines = lines[1:]  # the first line of a tail is cut
    records = []
    for values in csv.reader(lines):
        record = _record(dict(zip(CSV_COLUMNS, values)), zone)
        if record:
            records.append(record)
    return records


def read_sqlite(path: Path, zone: ZoneInfo | timezone, since: datetime) -> list[CallRecord]:
    # Read-only, and never a lock Asterisk's writer would wait on.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT * FROM cdr WHERE start >= ?", [_local(since, zone)]).fetchall()
    finally:
        connection.close()
    return [r for r in (_record(dict(row), zone) for row in rows) if r]


def read_mysql(url: str, zone: ZoneInfo | timezone, since: datetime) -> list[CallRecord]:
    """FreePBX's asteriskcdrdb: mysql://USER:PASSWORD@HOST[:PORT]/DATABASE (read-only user)."""
    import pymysql

    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb") or not parts.hostname or not parts.path.strip("/"):
        raise ConfigError("setting 'cdr_database_url': mysql://USER:PASSWORD@HOST/asteriskcdrdb")
    connection = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=unquote(parts.username or ""),
                                 password=unquote(parts.password or ""), database=parts.path.strip("/"),
                                 connect_timeout=10, read_timeout=60, cursorclass=pymysql.cursors.DictCursor,
                                 charset="utf8mb4")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM cdr WHERE calldate >= %s", [_local(since, zone)])
            rows = cursor.fetchall()
    finally:
        connection.close()
    return [r for r in (_record(row, zone) for row in rows) if r]


def _local(moment: datetime, zone: ZoneInfo | timezone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def read_all(settings: Settings, since: datetime) -> Iterable[tuple[str, list[CallRecord]]]:
    """(source name, its records since `since`) for each source the settings name."""
    # Asterisk writes the local time of the machine it runs on: this box's, unless set.
    zone = zone_named(settings.cdr_timezone) if settings.cdr_timezone else box_zone()
    if settings.cdr_csv_path is not None:
        yield "csv", read_csv(settings.cdr_csv_path, zone)
    if settings.cdr_sqlite_path is not None:
        yield "sqlite", read_sqlite(settings.cdr_sqlite_path, zone, since)
    if settings.cdr_database_url:
        yield "mysql", read_mysql(settings.cdr_database_url, zone, since)


def sync(store: Store, settings: Settings, now: datetime | None = None) -> int:
    """Link the call records of the last cdr_scan_days to our calls; how many rows were linked."""
    since = (now or datetime.now(timezone.utc)) - timedelta(days=settings.cdr_scan_days)
    linked = 0
    for source, records in read_all(settings, since):
        linked += store.cdr.link(source, records)
    if linked:
        log.info("cdr: %d record(s) linked to calls", linked)
    return linked
