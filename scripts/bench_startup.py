"""How fast the command line answers: ``realzoo --help`` and ``realzoo train --help``.

Goal (issue 2): under 0.5 s each. The RL Zoo's ``python -m rl_zoo3.train --help`` is
measured in the same run as the baseline when a Python with rl_zoo3 is given
(``--zoo-python /path/to/python``). Prints the median of several runs and the ratio.

    .venv/bin/python scripts/bench_startup.py [--repeats 7] [--zoo-python PY]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--zoo-python", help="a Python interpreter with rl_zoo3 installed")
    args = parser.parse_args()
    realzoo = str(Path(sys.executable).parent / "realzoo")
    rows = [
        ("realzoo --help", [realzoo, "--help"]),
        ("realzoo train --help", [realzoo, "train", "--help"]),
        ("python -c pass (interpreter alone)", [sys.executable, "-c", "pass"]),
    ]
    if args.zoo_python:
        rows.append(
            ("python -m rl_zoo3.train --help", [args.zoo_python, "-m", "rl_zoo3.train", "--help"])
        )
    results = {name: median_seconds(cmd, args.repeats) for name, cmd in rows}
    print(f"median of {args.repeats} runs")
    for name, seconds in results.items():
        print(f"  {name:<40} {seconds:6.3f} s")
    zoo = results.get("python -m rl_zoo3.train --help")
    if zoo:
        ratio = zoo / results["realzoo train --help"]
        print(f"  rl_zoo3 train --help / realzoo train --help = {ratio:.1f}x")
    worst = max(results["realzoo --help"], results["realzoo train --help"])
    print(f"goal < 0.5 s: {'met' if worst < 0.5 else 'NOT met'} ({worst:.3f} s)")


if __name__ == "__main__":
    main()
