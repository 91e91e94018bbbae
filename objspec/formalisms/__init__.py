"""The paper's 17 objective-specification formalisms, one class each.

Every class's acronym is an alias (``MR is MarkovReward``). ``spec.compile(env)``
returns an evaluator with ``compare`` and ``rank``, and for real-valued formalisms
``value`` and ``values``. See :mod:`objspec.formalisms.base` and ``docs/formalisms.md``.
"""

from objspec.formalisms import regularisers
from objspec.formalisms.base import Evaluator, RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.limit_average import LAR, LimitAverageReward
from objspec.formalisms.lottery import TrajectoryLottery
from objspec.formalisms.markov_reward import MR, MarkovReward
from objspec.formalisms.multi_objective import (
    GOMORL,
    IMORL,
    OMORL,
    GeneralisedOuterMORL,
    InnerMORL,
    OuterMORL,
)
from objspec.formalisms.nonlinear import (
    INMR,
    ONMR,
    InnerNonlinearMarkovReward,
    OuterNonlinearMarkovReward,
)
from objspec.formalisms.occupancy import (
    FOMR,
    OMO,
    OccupancyMeasureFunction,
    OccupancyMeasureOrdering,
)
from objspec.formalisms.policy_level import FPR, PO, PolicyFunction, PolicyOrdering
from objspec.formalisms.regularised import RRL, RegularisedRL
from objspec.formalisms.reward_machine import RM, RewardMachine
from objspec.formalisms.temporal_logic import LTL, LinearTemporalLogic
from objspec.formalisms.trajectory import (
    FTLR,
    FTR,
    TLO,
    TrajectoryFunction,
    TrajectoryLotteryFunction,
    TrajectoryLotteryOrdering,
)

__all__ = [
    "Evaluator",
    "RealValuedEvaluator",
    "Specification",
    "Valuation",
    "regularisers",
    "TrajectoryLottery",
    "MarkovReward",
    "MR",
    "LimitAverageReward",
    "LAR",
    "LinearTemporalLogic",
    "LTL",
    "RewardMachine",
    "RM",
    "InnerNonlinearMarkovReward",
    "INMR",
    "InnerMORL",
    "IMORL",
    "TrajectoryFunction",
    "FTR",
    "TrajectoryLotteryFunction",
    "FTLR",
    "TrajectoryLotteryOrdering",
    "TLO",
    "OuterNonlinearMarkovReward",
    "ONMR",
    "OuterMORL",
    "OMORL",
    "GeneralisedOuterMORL",
    "GOMORL",
    "RegularisedRL",
    "RRL",
    "OccupancyMeasureFunction",
    "FOMR",
    "OccupancyMeasureOrdering",
    "OMO",
    "PolicyFunction",
    "FPR",
    "PolicyOrdering",
    "PO",
]
