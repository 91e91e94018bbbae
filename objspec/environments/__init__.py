"""Environments: witness MDPs, gridworlds, example tasks, imports, exports and adapters.

* :mod:`~objspec.environments.witnesses`: E1-E7 of docs/theory.md#separations;
* :mod:`~objspec.environments.gridworld`: text-layout gridworlds and the office world;
* :mod:`~objspec.environments.examples`: example tasks (environment + specification);
* :mod:`~objspec.environments.generators`: seeded random MDPs and policies;
* :mod:`~objspec.environments.strategies`: hypothesis strategies (import it explicitly);
* :mod:`~objspec.environments.gymnasium_import`: gymnasium toy-text environments in;
* :mod:`~objspec.environments.gym_adapter`: :class:`SpecEnv`, a gymnasium environment out;
* :mod:`~objspec.environments.formats`: PRISM and DRN export, Storm import (import it
  explicitly).
"""

from objspec.environments.examples import (
    OFFICE_LTL,
    ExampleTask,
    example_task,
    example_tasks,
    office_tasks,
)
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
from objspec.environments.mo_gymnasium_import import from_mo_gymnasium
from objspec.environments.witnesses import E1, E2, E3, E4, E5, E6, E7

__all__ = [
    "ExampleTask",
    "OFFICE_LTL",
    "example_task",
    "example_tasks",
    "office_tasks",
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
    "from_mo_gymnasium",
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
