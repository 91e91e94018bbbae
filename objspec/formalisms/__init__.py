"""The paper's 17 objective-specification formalisms, one class each.

Every class's acronym is an alias (``MR is MarkovReward``). ``spec.compile(env)``
returns an evaluator with ``compare`` and ``rank``, and for real-valued formalisms
``value`` and ``values``. See :mod:`objspec.formalisms.base`.
"""

from objspec.formalisms.base import Evaluator, RealValuedEvaluator, Specification
from objspec.formalisms.markov_reward import MR, MarkovReward

__all__ = [
    "Evaluator",
    "RealValuedEvaluator",
    "Specification",
    "MarkovReward",
    "MR",
]
