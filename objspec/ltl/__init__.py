"""The LTL engine: syntax, translation to deterministic automata, HOA, products, optimisation.

Everything is written in objspec (no Spot or other external tool). See ``docs/ltl.md``.

* :mod:`objspec.ltl.syntax`, :mod:`objspec.ltl.parser`, :mod:`objspec.ltl.simplify`: formulas;
* :mod:`objspec.ltl.translation`: LTL to deterministic Emerson-Lei automata (master theorem,
  decomposition), built on :mod:`objspec.ltl.after` (the ``af`` function on DNFs),
  :mod:`objspec.ltl.operations` (minimise, product, complement, lift),
  :mod:`objspec.ltl.acceptance` (acceptance conditions) and :mod:`objspec.ltl.budget`
  (state and time limits); :func:`clear_caches` empties every cache of the engine;
* :mod:`objspec.ltl.automaton`, :mod:`objspec.ltl.hoa`: automata and the HOA v1 format;
* :mod:`objspec.ltl.product`: exact satisfaction probabilities of policies;
* :mod:`objspec.ltl.optimise`: ``Pmax`` and optimal reward-machine policies;
* :mod:`objspec.ltl.reward_machines`: the reward-machine engine;
* :mod:`objspec.ltl.rendering`: SVG and DOT pictures.

Examples
--------
>>> from objspec.ltl import parse_formula, translate
>>> aut = translate(parse_formula("G (request -> F grant)"))
>>> aut.accepts_lasso([], [{"request"}, {"grant"}])
True
"""

from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
from objspec.ltl.caches import clear_caches
from objspec.ltl.hoa import from_hoa, to_hoa
from objspec.ltl.optimise import (
    FiniteMemoryPolicy,
    MaximalSatisfaction,
    finite_memory_policy_probability,
    maximal_satisfaction,
    optimal_reward_machine_policy,
)
from objspec.ltl.parser import parse_formula, parse_guard
from objspec.ltl.product import (
    ProductSkeleton,
    exact_satisfaction_probabilities,
    satisfaction_probabilities,
)
from objspec.ltl.simplify import negation_normal_form, simplify
from objspec.ltl.syntax import Formula
from objspec.ltl.translation import translate

__all__ = [
    "DeterministicAutomaton",
    "FiniteMemoryPolicy",
    "Formula",
    "MaximalSatisfaction",
    "ProductSkeleton",
    "clear_caches",
    "exact_satisfaction_probabilities",
    "finite_memory_policy_probability",
    "from_hoa",
    "maximal_satisfaction",
    "negation_normal_form",
    "optimal_reward_machine_policy",
    "parse_acceptance",
    "parse_formula",
    "parse_guard",
    "satisfaction_probabilities",
    "simplify",
    "to_hoa",
    "translate",
]
