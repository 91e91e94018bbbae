#!/usr/bin/env bash
# Mutation testing of the certificate and lemma checks (run by hand, never in CI).
#
# Mutates objspec/reductions/{certificates,lemmas,checking}.py and objspec/hasse/preorder.py
# (see [tool.mutmut] in pyproject.toml) and runs, per mutant, the tests of the selection that
# cover the mutated function. Needs the test extras (mutmut >= 3.3). Usage:
#
#   scripts/run_mutmut.sh            # resume (mutmut caches results in mutants/)
#   scripts/run_mutmut.sh --fresh    # start over
#   JOBS=4 scripts/run_mutmut.sh     # more parallel workers (default 2)
#
# Prints the kill rate per file at the end; docs/mutation-testing.md lists the survivors and
# why each is equivalent. Inspect one with `mutmut show <name>`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--fresh" ]]; then
    rm -rf mutants
    shift
fi
export HYPOTHESIS_PROFILE=mutation  # fewer drawn examples per mutant (tests/conftest.py)
mutmut run --max-children "${JOBS:-2}" "$@" >/dev/null || true
python scripts/mutmut_summary.py
