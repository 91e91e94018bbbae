"""Quantitative expressivity studies: how often can A express a sampled B-specification?

The Hasse diagram (:mod:`objspec.hasse`) says whether formalism A can express everything B
can. A study measures how often, on environments of a given kind: it samples environments
and B-specifications, orders sampled policies by each, and asks
:func:`objspec.learning.fit` whether an A-specification reproduces the ordering. Tasks run
serially, on a local Dask cluster or on any Dask cluster by address, and stream to a Parquet
dataset that a rerun resumes. docs/studies.md is the guide.

Examples
--------
>>> from objspec.studies import parse_study
>>> parse_study('sources = ["MR"]\\ntargets = ["MR"]\\n[[environments]]\\n'
...             'generator = "random_mdp"').instances
10
"""

from objspec.studies.definition import (
    GENERATORS,
    EnvironmentGenerator,
    PolicySampling,
    Study,
    load_study,
    parse_study,
    task_rng,
)
from objspec.studies.report import (
    StudyReport,
    contradictions,
    outcomes,
    quantitative_hasse,
    rates,
    report,
    separation_checks,
    wilson_interval,
)
from objspec.studies.results import ResultsStore, read_results
from objspec.studies.runner import RunSummary, run_study
from objspec.studies.tasks import Instance, instance, run_task

__all__ = [
    "GENERATORS",
    "EnvironmentGenerator",
    "Instance",
    "PolicySampling",
    "ResultsStore",
    "RunSummary",
    "Study",
    "StudyReport",
    "contradictions",
    "instance",
    "load_study",
    "outcomes",
    "parse_study",
    "quantitative_hasse",
    "rates",
    "read_results",
    "report",
    "run_study",
    "run_task",
    "separation_checks",
    "task_rng",
    "wilson_interval",
]
