"""What one CDR scan of Master.csv costs, the worker's every cdr_scan_interval_seconds.

Writes a Master.csv of --rows rows in Asterisk's column order (one call in --linked-every has a
recording here), then times appliance.asterisk.cdr.sync: the first scan, a scan with nothing
new (the steady state between calls) and one after --append new rows (Master.csv's rows of the
last hour are read on every scan; these are older). Prints seconds and the
rows linked. Asserts nothing.

    .venv/bin/python bench/cdr_sync.py                  # 30 000 rows (about 7 MB)
    .venv/bin/python bench/cdr_sync.py --rows 200000
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine  # noqa: E402

from appliance.asterisk.cdr import CSV_COLUMNS, sync  # noqa: E402
from appliance.config import load_settings  # noqa: E402
from appliance.store import Store  # noqa: E402
from appliance.transcript.model import CallMeta  # noqa: E402


def rows(first: int, count: int):
    for n in range(first, first + count):
        values = dict.fromkeys(CSV_COLUMNS, "")
        start = f"2024-11-0{1 + n % 3} {n % 24:02d}:{n % 60:02d}:00"  # long over: no row read again
        values.update(src=f"+4930{n:07d}", dst="201", dcontext="from-pstn", channel=f"PJSIP/trunk-{n:08x}",
                      dstchannel=f"PJSIP/201-{n:08x}", lastapp="Dial", lastdata="PJSIP/201,30", start=start,
                      answer=start, end=start, duration="60", billsec="55", disposition="ANSWERED",
                      amaflags="DOCUMENTATION", uniqueid=f"1796300000.{n}", linkedid=f"1796300000.{n}",
                      sequence=str(n))
        yield [values[name] for name in CSV_COLUMNS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--linked-every", type=int, default=10)
    parser.add_argument("--append", type=int, default=20)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        master = Path(folder) / "Master.csv"
        with master.open("w", newline="") as out:
            csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows(0, args.rows))
        settings = load_settings(Path("/dev/null"), environ={}, data_dir=Path(folder) / "data", cdr_csv_path=master,
                                 cdr_timezone="UTC")
        with Store.open(settings) as store:
            for n in range(0, args.rows + args.append, args.linked_every):
                store.intake.enqueue(CallMeta(uniqueid=f"1796300000.{n}"), [Path(folder) / f"{n}.wav"])
            print(f"Master.csv: {args.rows} rows, {master.stat().st_size / 1e6:.1f} MB")
            for name in ("first scan", "nothing new", f"{args.append} new rows"):
                if name.endswith("new rows"):
                    with master.open("a", newline="") as out:
                        csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows(args.rows, args.append))
                began = time.perf_counter()
                linked = sync(store, settings)
                print(f"{name:>14}: {time.perf_counter() - began:7.3f} s, {linked} linked")


if __name__ == "__main__":
    main()
