"""Finite MDPs, policies, and batched exact evaluation.

See :mod:`objspec.mdp.evaluation` (values, visitation, occupancy), :mod:`objspec.mdp.longrun`
(recurrent classes, stationary distributions, Cesàro limits), :mod:`objspec.mdp.control`
(optimal values with certified error bounds), :mod:`objspec.mdp.exact` (rational
arithmetic), :mod:`objspec.mdp.sampling` and :mod:`objspec.mdp.backends`.
"""

from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy, as_policy_batch, deterministic_policies

__all__ = ["FiniteMDP", "Policy", "as_policy_batch", "deterministic_policies"]
