"""Erasure on request at scale: what leaving no byte behind costs against plain deletion.

Builds a store of --calls calls with bench/search.py's generator (real-looking numbers and
turns), picks the most frequent outside number, then on two copies of the same file:
  baseline  the calls deleted one by one, as the delete button does (rows gone, bytes may stay);
  erasure   appliance.ops.erasure: find, delete, forget the number, merge every FTS index,
            VACUUM, empty the WAL.
Prints seconds per phase, the ratio against the baseline, and the file sizes. Asserts nothing.

    .venv/bin/python bench/erasure.py                 # 20 000 calls
    .venv/bin/python bench/erasure.py --calls 100000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine  # noqa: E402
from search import CallMaker, bulk_ingest, corpus  # noqa: E402

from appliance.config import load_settings  # noqa: E402
from appliance.ops import erasure  # noqa: E402
from appliance.store import Store  # noqa: E402


def size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base" / "appliance.db"
        base.parent.mkdir()
        Store(base).close()  # the schema
        maker = CallMaker(corpus(), args.calls)
        built = bulk_ingest(base, maker, 0, args.calls)
        number = maker.outside[0]  # the most frequent caller
        print(f"store: {args.calls:,} calls, {built['turns']:,} turns, {size(base) / 2**20:.0f} MB")

        copies = {}
        for name in ("baseline", "erasure"):
            folder = Path(tmp) / name
            shutil.copytree(base.parent, folder)
            copies[name] = folder
        settings = load_settings(Path("/dev/null"), environ={}, data_dir=copies["erasure"])

        with Store(copies["baseline"] / "appliance.db") as store:
            t0 = time.perf_counter()
            found = erasure.find(store, number=number)
            find_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for call in found.calls:
                store.calls.delete(call.id)
            baseline_s = time.perf_counter() - t0
        with Store(copies["erasure"] / "appliance.db") as store:
            found = erasure.find(store, number=number)
            t0 = time.perf_counter()
            result = erasure.erase(store, settings, found, actor="bench")
            erase_s = time.perf_counter() - t0
        print(f"number with {len(found.calls)} calls; find {find_s:.2f} s")
        print(f"{'':10s} {'seconds':>8s} {'vs baseline':>12s} {'file MB':>8s}")
        print(f"{'baseline':10s} {baseline_s:8.2f} {1.0:11.1f}x {size(copies['baseline'] / 'appliance.db') / 2**20:8.0f}")
        print(f"{'erasure':10s} {erase_s:8.2f} {erase_s / baseline_s:11.1f}x {size(copies['erasure'] / 'appliance.db') / 2**20:8.0f}"
              f"   (compacted: {result.file_compacted})")


if __name__ == "__main__":
    main()
