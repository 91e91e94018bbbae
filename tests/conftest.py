"""Shared pytest configuration: hypothesis profiles chosen by ``HYPOTHESIS_PROFILE``.

``dev`` is randomized with a modest number of examples; ``ci`` is derandomized with no
deadline, so CI runs are reproducible and not flaky on a loaded machine. The default is
``ci`` when the ``CI`` environment variable is set (as in ``.ci/run``), ``dev`` otherwise.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
# mutation testing (scripts/run_mutmut.sh): every mutant reruns the covering tests, so the
# property tests draw fewer examples; their explicit @example cases always run
settings.register_profile(
    "mutation",
    derandomize=True,
    deadline=None,
    max_examples=12,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)
