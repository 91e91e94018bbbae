"""Evaluating a batch never changes the evaluator (issue: values() must not mutate state).

The tie tolerance and stated error of a batch travel in its
:class:`~objspec.formalisms.base.Valuation`; a later comparison must not depend on which
batches were evaluated before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec.environments.strategies import mdp_and_specs, policy_batches
from objspec.formalisms import RealValuedEvaluator, RegularisedRL
from objspec.formalisms.regularisers import negative_entropy
from objspec.mdp.model import FiniteMDP

WATCHED = ("tie_tolerance", "error_bound", "method", "exact", "standard_errors")


def _state(ev: Any) -> dict[str, Any]:
    out = {}
    for k in WATCHED:
        v = getattr(ev, k, None)
        out[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return out


@settings(max_examples=25, deadline=None)
@given(data=st.data(), pair=mdp_and_specs(max_states=3, max_actions=2))
def test_values_do_not_change_the_evaluator(
    data: st.DataObject, pair: tuple[FiniteMDP, Any]
) -> None:
    env, spec = pair
    ev = spec.compile(env)
    if not isinstance(ev, RealValuedEvaluator):
        return
    before = _state(ev)
    batch = data.draw(policy_batches(env, 1, 3))
    val = ev.valuation(batch)
    assert np.array_equal(ev.values(batch), val.values)
    assert _state(ev) == before


def test_a_large_batch_does_not_widen_later_ties() -> None:
    """A batch with large values has a wide tie tolerance; a later batch of small values
    must still be compared with its own (narrow) one."""
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    reward = np.array([[1.0, 1e6], [0.0, 0.0]])
    ev = RegularisedRL(reward, negative_entropy, 0.0, 0.5).compile(env)
    move = [[0.0, 1.0], [1.0, 0.0]]
    stay = [[1.0, 0.0], [1.0, 0.0]]
    almost = [[1.0 - 1e-12, 1e-12], [1.0, 0.0]]
    assert ev.compare(almost, stay) == 1
    assert ev.valuation([move]).tie_tolerance > 1e-4  # relative to |J| = 1e6
    assert ev.compare(almost, stay) == 1  # unchanged by the batch above
