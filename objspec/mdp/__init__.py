"""Finite MDPs, policies, and batched exact evaluation.

* :mod:`objspec.mdp.model`: :class:`FiniteMDP`;
* :mod:`objspec.mdp.policy`: :class:`Policy`, batches, enumeration of deterministic policies;
* :mod:`objspec.mdp.evaluation`: values, returns, visitation and occupancy measures for many
  policies and rewards at once, with certified error bounds;
* :mod:`objspec.mdp.linear`: the batched dense and Krylov solvers behind them (method
  choice, certified error bounds, fallbacks);
* :mod:`objspec.mdp.kernels`: their iterative kernels, written once over an array namespace
  (numpy, or torch in :mod:`objspec.mdp.torch_backend`);
* :mod:`objspec.mdp.longrun`: recurrent classes, stationary distributions, Cesaro limits and
  long-run average rewards, exact;
* :mod:`objspec.mdp.control`: optimal values and policies with certified error bounds;
* :mod:`objspec.mdp.sampling`: seeded, vectorised trajectory sampling;
* :mod:`objspec.mdp.backends`: numpy (default) or torch kernels.
"""

from objspec.mdp.control import ControlSolution, optimal_values
from objspec.mdp.evaluation import (
    Evaluation,
    discounted_values,
    evaluate,
    expected_return,
    induced_chain,
    occupancy_measure,
    policy_rewards,
    state_action_occupancy,
    state_visitation,
)
from objspec.mdp.longrun import long_run_average, long_run_average_values
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy, as_policy_batch, deterministic_policies
from objspec.mdp.rewards import check_discount, normalize_rewards
from objspec.mdp.sampling import Trajectories, discounted_returns, sample_trajectories

__all__ = [
    "ControlSolution",
    "optimal_values",
    "FiniteMDP",
    "Policy",
    "Evaluation",
    "as_policy_batch",
    "check_discount",
    "deterministic_policies",
    "discounted_values",
    "evaluate",
    "expected_return",
    "induced_chain",
    "long_run_average",
    "long_run_average_values",
    "Trajectories",
    "discounted_returns",
    "sample_trajectories",
    "normalize_rewards",
    "occupancy_measure",
    "policy_rewards",
    "state_action_occupancy",
    "state_visitation",
]
