"""objspec: the expressivity theory of RL objective-specification formalisms, executable.

The core types are re-exported here: :class:`FiniteMDP` (a reward-free finite
environment) and :class:`Policy` (a stationary Markovian policy). Subpackages
(``objspec.mdp``, ``objspec.ltl``, ``objspec.formalisms``, ``objspec.reductions``,
``objspec.environments``, ``objspec.hasse``, ``objspec.orders``) are imported on first
attribute access.

Examples
--------
>>> import numpy as np, objspec
>>> env = objspec.FiniteMDP(np.ones((1, 2, 1)), [1.0])
>>> objspec.Policy.uniform(1, 2).probabilities
array([[0.5, 0.5]])
"""

from __future__ import annotations

import importlib
from typing import Any

from objspec import errors
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__version__ = "0.1.0"
__all__ = ["FiniteMDP", "Policy", "errors", "__version__"]

_SUBMODULES = {
    "mdp",
    "ltl",
    "formalisms",
    "reductions",
    "environments",
    "hasse",
    "orders",
    "expressions",
    "cli",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"objspec.{name}")
    raise AttributeError(f"module 'objspec' has no attribute {name!r}")
