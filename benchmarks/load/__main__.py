"""Run the load mix against a running `assetlens serve` and print per-operation figures.

    python -m benchmarks.load --url http://127.0.0.1:8000 --key "$KEY" --users 50 --seconds 600

Exits 1 when any request errored or an acknowledged upload is missing afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.load.loadgen import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an API key with write scope")
    parser.add_argument("--users", type=int, default=50, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="", help="a note kept in the JSON (mode, machine)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    report = asyncio.run(
        run(args.url, args.key, users=args.users, seconds=args.seconds, seed=args.seed)
    )
    print(report.table())
    for sample in report.error_samples():
        print("error:", sample)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "label": args.label,
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                    "users": report.users,
                    "seconds": round(report.seconds, 1),
                    "acknowledged": len(report.acknowledged),
                    "lost": len(report.lost),
                    "operations": report.rows(),
                },
                indent=2,
            )
            + "\n"
        )
    sys.exit(1 if report.errors or report.lost else 0)


if __name__ == "__main__":
    main()
