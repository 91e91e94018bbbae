"""Environments: the witness MDPs E1-E7, random generators, examples and adapters."""

from objspec.environments.generators import random_labelled_mdp, random_mdp, random_policies
from objspec.environments.witnesses import E1, E2, E3, E4, E5, E6, E7

__all__ = [
    "E1",
    "E2",
    "E3",
    "E4",
    "E5",
    "E6",
    "E7",
    "random_labelled_mdp",
    "random_mdp",
    "random_policies",
]
