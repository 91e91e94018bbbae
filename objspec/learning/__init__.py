"""Learning specifications from preferences, in any formalism, or proving that none exists.

The paper's second conclusion (Subramani et al., ICLR 2024, arXiv 2310.11840, section 5) is
that reward learning must look beyond Markov rewards. This package lets a reward-learning
researcher diagnose their own comparisons: :func:`fit` finds a specification of a chosen
formalism that explains them (or raises :class:`~objspec.errors.NotExpressibleError` with
an exact :class:`ImpossibilityCertificate`). :func:`profile` fits every formalism and
closes the answers under the expressivity preorder. Data comes from arrays, DataFrames, CSV
and Parquet tables (``Comparisons.read_csv`` and friends) or the ``imitation`` library
(:func:`from_imitation`); fitted rewards go out as arrays (``Fit.reward_array``) and
gymnasium environments (:func:`reward_wrapper`). docs/learning.md is the guide.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.learning import Comparisons, fit
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
>>> env = FiniteMDP(P, [1.0, 0.0])
>>> data = Comparisons(policies=[[[1, 0], [1, 0]], [[0, 1], [0, 1]]], pairs=[(0, 1, "=")])
>>> fit("MR", env, data, gamma=0.9).consistent
True
"""

from objspec.formalisms.fitting import (
    ClassBoundCertificate,
    Comparison,
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    Fitter,
    ImpossibilityCertificate,
    Trajectory,
)
from objspec.formalisms.markov_reward import inverse_rl
from objspec.learning.export import FittedRewardWrapper, reward_wrapper
from objspec.learning.fitting import fit
from objspec.learning.imitation import from_imitation
from objspec.learning.profile import Profile, ProfileContradictionError, profile

__all__ = [
    "ClassBoundCertificate",
    "Comparison",
    "Comparisons",
    "FeatureMap",
    "Fit",
    "FitOptions",
    "Fitter",
    "FittedRewardWrapper",
    "ImpossibilityCertificate",
    "Profile",
    "ProfileContradictionError",
    "Trajectory",
    "fit",
    "from_imitation",
    "inverse_rl",
    "profile",
    "reward_wrapper",
]
