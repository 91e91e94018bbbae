"""Environments: the witness MDPs E1-E7, random generators, examples and adapters."""

from objspec.environments.generators import random_labelled_mdp, random_mdp, random_policies
from objspec.environments.gridworld import (
    ACTIONS,
    OFFICE_LAYOUT,
    OFFICE_RM_TEXTS,
    GridWorld,
    gridworld,
    office_world,
    parse_layout,
)
from objspec.environments.gym_adapter import ENV_ID, SpecEnv
from objspec.environments.gymnasium_import import (
    GymnasiumImport,
    from_gymnasium,
    gymnasium_reward,
    import_gymnasium,
)
from objspec.environments.witnesses import E1, E2, E3, E4, E5, E6, E7

__all__ = [
    "ENV_ID",
    "SpecEnv",
    "ACTIONS",
    "OFFICE_LAYOUT",
    "OFFICE_RM_TEXTS",
    "GridWorld",
    "GymnasiumImport",
    "from_gymnasium",
    "gridworld",
    "gymnasium_reward",
    "import_gymnasium",
    "office_world",
    "parse_layout",
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
