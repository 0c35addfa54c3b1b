"""How long a wrong login takes for a known and an unknown user name, through the login view
(Flask's test client, scrypt hashes as `appliance users add` makes them). The two medians should
be close: the view checks a dummy hash for names that do not exist.

    .venv/bin/python bench/login_timing.py --tries 20

It prints figures and asserts nothing; it is not a test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()

    from appliance.config import Settings
    from appliance.store import Store
    from appliance.web import create_app
    from appliance.web.auth import hash_password

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        with Store(data / "appliance.db") as store:
            store.users.add("ada", hash_password("the-right-one"), "admin")
        # No throttle in the way: every try reaches the password check.
        settings = Settings(data_dir=data, login_attempts_per_15_minutes=10 * args.tries)
        client = create_app(settings=settings).test_client()
        for name in ("ada", "nobody"):
            times = []
            for _ in range(args.tries):
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)[1]
                start = time.perf_counter()
                client.post("/login", data={"username": name, "password": "wrong", "csrf_token": token})
                times.append((time.perf_counter() - start) * 1000)
            print(f"{name:>8}: median {statistics.median(times):6.1f} ms over {args.tries} wrong logins")


if __name__ == "__main__":
    main()
