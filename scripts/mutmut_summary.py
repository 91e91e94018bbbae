"""Kill rate per file from the results of ``mutmut run`` (see scripts/run_mutmut.sh).

Reads ``mutmut results --all true`` (lines ``module.x_function__mutmut_N: status``) and prints,
per mutated module, the number of mutants by status and the kill rate
``killed / checked`` (checked: every mutant with a verdict; ``suspicious`` or ``segfault``
verdicts count as alive); timeouts are counted as killed (the mutant made
the covering tests run 15 times longer than on the original, in practice an endless loop),
and shown separately. Survivors are listed for docs/mutation-testing.md.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict


def main() -> int:
    out = subprocess.run(["mutmut", "results", "--all", "true"], capture_output=True, text=True,
                         check=True).stdout
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for line in out.splitlines():
        if ": " not in line or "__mutmut_" not in line:
            continue
        name, status = line.strip().rsplit(": ", 1)
        module = name.split(".x_")[0].split(".xǁ")[0]
        by_module[module][status] += 1
        if status not in ("killed", "timeout", "caught by type check", "not checked",
                          "skipped"):
            survivors.append(f"{name}: {status}")
    total: Counter[str] = Counter()
    print(f"{'module':36} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} "
          f"{'no tests':>8} {'unchecked':>9} {'kill rate':>9}")
    for module, c in sorted(by_module.items()):
        total.update(c)
        print(_row(module, c))
    print(_row("all four files", total))
    if survivors:
        print("\nsurvivors (inspect with `mutmut show NAME`):")
        print("\n".join("  " + s for s in survivors))
    return 0


def _row(module: str, c: Counter[str]) -> str:
    killed = c["killed"] + c["timeout"] + c["caught by type check"]
    known = killed + c["survived"] + c["no tests"] + c["not checked"] + c["skipped"]
    judged = sum(c.values()) - c["not checked"] - c["skipped"]  # suspicious etc. count as alive
    rate = f"{100 * killed / judged:.1f}%" if judged else "-"
    return (f"{module:36} {sum(c.values()):>7} {c['killed']:>6} {c['timeout']:>7} "
            f"{c['survived']:>8} {c['no tests']:>8} {c['not checked']:>9} {rate:>9}"
            + (f"  ({sum(c.values()) - known} other)" if sum(c.values()) != known else ""))


if __name__ == "__main__":
    sys.exit(main())
