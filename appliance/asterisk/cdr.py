"""The PBX's call record (CDR), read where a site keeps it, linked to the calls we transcribed.

Three sources, each optional and read-only: Asterisk's `cdr-csv/Master.csv`, `cdr_sqlite3`'s
database, and FreePBX's `asteriskcdrdb` on MariaDB/MySQL (a read-only user on the LAN: the
appliance only ever sends SELECT). A CDR row belongs to a call of ours when its uniqueid is the
call's (the recorded leg) or its linkedid is the call's linkedid (the other legs of a transfer or
a queue call). Only rows of calls we hold are kept, with the call: retention and erasure of the
call take its records along, and nothing is kept about calls that were never recorded.

Master.csv only grows between rotations, so each scan reads only what was appended since the
last one, and the last hour's rows again (CSV_LATE_SECONDS): the store keeps a mark (the file's
device and inode, a byte offset) with the rows it linked. A file of another inode (rotated away)
or shorter than the mark (truncated in place) is read from its start again, at most its last
CSV_TAIL_BYTES, as is the file by `appliance cdr sync`. The databases are asked for the rows of
the last cdr_scan_days (their start times are indexed).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sqlite3
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
# Calls of the last days are in the file's end: a year of CSV seen for the first time is not read whole.
CSV_TAIL_BYTES = 8 << 20
# Rows of calls that ended this recently are read again on the next scan: a recording may be
# queued after its row was written (a PBX's upload retried from its pending queue, an import).
CSV_LATE_SECONDS = 3600


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


def read_csv(path: Path, zone: ZoneInfo | timezone, mark: str | None = None,
             now: datetime | None = None) -> tuple[list[CallRecord], str]:
    """The records of the whole lines written after `mark` (a mark this returned before), and the
    mark to pass next: before the first line of a call that ended less than CSV_LATE_SECONDS
    ago, so that its recording, if it arrives after the row, is still linked on the next scan.
    A line Asterisk is still writing is left for the next scan."""
    with open(path, "rb") as raw:
        info = os.fstat(raw.fileno())
        file_id, size = f"{info.st_dev}:{info.st_ino}", info.st_size
        marked_id, _, marked_offset = (mark or "").rpartition(":")
        if marked_id == file_id and marked_offset.isdigit() and int(marked_offset) <= size:
            start, cut = int(marked_offset), False
        else:  # first read, rotated or truncated
            start = max(0, size - CSV_TAIL_BYTES)
            cut = start > 0  # the first line of a tail is cut
        raw.seek(start)
        new = raw.read(size - start)
    young = ((now or datetime.now(timezone.utc)) - timedelta(seconds=CSV_LATE_SECONDS)).isoformat(timespec="seconds")
    records, offset, next_mark = [], start, None
    for line in new.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        offset += len(line)
        if cut:
            cut = False
            continue
        record = _record(dict(zip(CSV_COLUMNS, next(csv.reader([line.decode("utf-8", errors="replace")]), []))), zone)
        if record:
            records.append(record)
            if next_mark is None and (record.ended_at or record.started_at or young) >= young:
                next_mark = offset - len(line)
    return records, f"{file_id}:{offset if next_mark is None else next_mark}"


def read_sqlite(path: Path, zone: ZoneInfo | timezone, since: datetime) -> list[CallRecord]:
    # Read-only, and never a lock Asterisk's writer would wait on.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT * FROM cdr WHERE start >= ?", [_local(since, zone)]).fetchall()
    finally:
        connection.close()
    return [r for r in (_record(dict(row), zone) for row in rows) if r]


def read_mysql(url: str, zone: ZoneInfo | timezone, since: datetime) -> tuple[list[CallRecord], list[tuple[str, str]]]:
    """FreePBX's asteriskcdrdb: mysql://USER:PASSWORD@HOST[:PORT]/DATABASE (read-only user).
    Its records since `since`, and the pairs of linkedids its `cel` table says an attended
    transfer joined (none where the site keeps no CEL)."""
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
            try:
                joins = _attended_transfers(cursor, _local(since, zone))
            except pymysql.err.ProgrammingError:  # no cel table: the site logs no CEL
                joins = []
    finally:
        connection.close()
    return [r for r in (_record(row, zone) for row in rows) if r], joins


def _attended_transfers(cursor, since: str) -> list[tuple[str, str]]:
    """(the transferer's first call's linkedid, its consultation call's linkedid) of each
    ATTENDEDTRANSFER event: the event is logged on the transferer's channel in the first call,
    its extra names the transferer's channel in the second (channel2_uniqueid), whose linkedid
    the second call's other CEL rows carry. A blind transfer keeps its call's linkedid: nothing
    to join."""
    cursor.execute("SELECT linkedid, extra FROM cel WHERE eventtype = 'ATTENDEDTRANSFER' AND eventtime >= %s",
                   [since])
    seconds = {}
    for row in cursor.fetchall():
        try:
            second = json.loads(row["extra"] or "{}").get("channel2_uniqueid")
        except ValueError:
            continue
        if second and row["linkedid"]:
            seconds[second] = row["linkedid"]
    if not seconds:
        return []
    cursor.execute("SELECT DISTINCT uniqueid, linkedid FROM cel WHERE uniqueid IN %s", [list(seconds)])
    return [(seconds[row["uniqueid"]], row["linkedid"]) for row in cursor.fetchall()
            if row["linkedid"] and row["linkedid"] != seconds[row["uniqueid"]]]


def _local(moment: datetime, zone: ZoneInfo | timezone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def sync(store: Store, settings: Settings, now: datetime | None = None, resume: bool = True) -> int:
    """Link the new call records (the databases': of the last cdr_scan_days) to our calls; how
    many links are new. resume=False reads Master.csv's tail again, not from the mark."""
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(days=settings.cdr_scan_days)
    # Asterisk writes the local time of the machine it runs on: this box's, unless set.
    zone = zone_named(settings.cdr_timezone) if settings.cdr_timezone else box_zone()
    linked = 0
    if settings.cdr_csv_path is not None:
        records, mark = read_csv(settings.cdr_csv_path, zone, store.cdr.mark("csv") if resume else None, now)
        linked += store.cdr.link("csv", records, mark)
    if settings.cdr_sqlite_path is not None:
        linked += store.cdr.link("sqlite", read_sqlite(settings.cdr_sqlite_path, zone, since))
    if settings.cdr_database_url:
        records, transfers = read_mysql(settings.cdr_database_url, zone, since)
        linked += store.cdr.link("mysql", records)
        store.cdr.join_conversations(transfers)
    if linked:
        log.info("cdr: %d record(s) linked to calls", linked)
    return linked
