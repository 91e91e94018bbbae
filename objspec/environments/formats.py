"""Exchange with probabilistic model checkers: PRISM language, Storm's DRN, stormpy models.

Export (no dependency):

* :func:`to_prism` writes an MDP, or the Markov chain it induces under a policy, in the
  PRISM language: one module with one integer variable ``s``, one command per
  ``(state, action)``, a ``label`` per proposition and one ``rewards`` structure per reward;
* :func:`to_drn` writes the same in Storm's explicit DRN format.

Import (needs ``stormpy``):

* :func:`from_storm` reads a sparse stormpy DTMC or MDP into a :class:`FiniteMDP`;
  :func:`storm_rewards` reads its reward models; :func:`load_drn` reads a DRN file and
  :func:`load_prism` a PRISM program.

Conventions, both ways:

* states keep their indices; PRISM's variable ``s`` is the state index;
* propositions become state labels; they must be identifiers and must not be ``init`` or
  ``deadlock`` (Storm's own labels). Transition labels (a label function) have no state
  form and are refused unless ``include_labels=False``;
* PRISM, DRN and Storm have initial *states*, not an initial distribution: the exported
  initial states are the support of ``env.initial``; an imported model starts uniformly
  over Storm's initial states. Values per state are unaffected;
* Storm has state and state-action rewards, not transition rewards: a reward
  ``R(s, a, s')`` is exported as ``r(s, a) = sum_s' tau(s'|s, a) R(s, a, s')``, which keeps
  every expected (discounted or average) return. Under a policy the chain gets the state
  reward ``r_pi(s) = sum_a pi(a|s) r(s, a)``;
* probabilities of exact (Fraction) models are written as exact fractions in PRISM, and as
  doubles in DRN;
* actions: states may have different sets of enabled actions (:attr:`FiniteMDP.enabled`).
  Export writes a command (PRISM) or an ``action`` block (DRN) for the enabled actions
  only. Import numbers the choices of each state ``0, 1, ...`` in Storm's order (Storm's
  row groups), so ``n_actions`` is the largest number of choices and state ``s`` enables
  actions ``0 .. k_s - 1``. Storm keeps no action identity across states, so exporting an
  environment whose enabled sets are not of that form and importing it again renumbers
  the actions of a state (the model, and every value, stays the same).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidModelError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy, as_policy_batch
from objspec.mdp.rewards import expected_rewards, normalize_rewards

__all__ = [
    "to_prism",
    "to_drn",
    "save_prism",
    "save_drn",
    "from_storm",
    "storm_rewards",
    "load_drn",
    "load_prism",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRISM_KEYWORDS = frozenset(
    """A bool clock const ctmc C double dtmc E endinit endinvariant endmodule endrewards
    endsystem false formula filter func F global G init invariant I int label max mdp min
    module X nondeterministic Pmax Pmin P probabilistic prob pta rate rewards Rmax Rmin R S
    stochastic system true U W""".split()
)


def _check_label_names(env: FiniteMDP, include_labels: bool) -> list[frozenset[str]]:
    if not include_labels or not env.propositions:
        return [frozenset() for _ in range(env.n_states)]
    labels = env.state_labels
    if labels is None:
        raise InvalidModelError(
            "the environment has transition labels (a label function); PRISM and DRN labels "
            "are state labels. Build the environment with state labels, or export with "
            "include_labels=False"
        )
    for name in env.propositions:
        if not _IDENTIFIER.match(name) or name in ("init", "deadlock"):
            raise InvalidModelError(
                f"proposition {name!r} cannot be a PRISM/Storm label: labels must be "
                "identifiers other than 'init' and 'deadlock'"
            )
    return list(labels)


def _reward_table(
    env: FiniteMDP, rewards: Any, policy: Policy | None
) -> dict[str, np.ndarray]:
    """Reward name -> ``[S, A]`` expected state-action reward (``[S]`` under a policy)."""
    if rewards is None:
        return {}
    items = rewards.items() if isinstance(rewards, Mapping) else [("r", rewards)]
    out: dict[str, np.ndarray] = {}
    for name, reward in items:
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise InvalidModelError(f"reward name {name!r} is not an identifier")
        arr, kind, single = normalize_rewards(env, reward, batched=False, what=f"reward {name!r}")
        r = expected_rewards(env, arr, kind)[0]
        if policy is not None:
            r = (policy.probabilities * r).sum(axis=1)
        out[name] = r
    return out


def _chain(env: FiniteMDP, policy: Policy) -> sp.csr_matrix:
    S, A = env.n_states, env.n_actions
    rows = np.repeat(np.arange(S), A)
    cols = np.arange(S * A)
    weights = sp.csr_matrix((policy.probabilities.ravel(), (rows, cols)), shape=(S, S * A))
    chain = (weights @ env.transition_matrix).tocsr()
    chain.eliminate_zeros()
    return chain


def _require_mdp(env: Any, function: str) -> None:
    """Raise a named error unless ``env`` is a :class:`FiniteMDP` (say what to pass)."""
    if isinstance(env, FiniteMDP):
        return
    hint = ""
    if isinstance(getattr(env, "mdp", None), FiniteMDP):
        hint = (f"; for a {type(env).__name__}, pass its environment ({function}(env.mdp), "
                "with the specification's reward as rewards= where it has one)")
    raise InvalidModelError(f"{function} exports a FiniteMDP, not a {type(env).__name__}{hint}")


def _as_policy(env: FiniteMDP, policy: Any) -> Policy | None:
    if policy is None:
        return None
    batch, single = as_policy_batch(policy, env.n_states, env.n_actions, enabled=env.enabled)
    if not single:
        raise InvalidModelError("export takes one policy, not a batch")
    return policy if isinstance(policy, Policy) else Policy(batch[0])


def _number(x: float) -> str:
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _action_identifiers(env: FiniteMDP) -> list[str]:
    names = list(env.action_names)
    if all(_IDENTIFIER.match(n) and n not in _PRISM_KEYWORDS for n in names):
        return names
    return [f"a{i}" for i in range(env.n_actions)]


def to_prism(
    env: FiniteMDP,
    *,
    policy: Any = None,
    rewards: Any = None,
    include_labels: bool = True,
    module: str = "objspec",
) -> str:
    """PRISM-language text of ``env`` (an ``mdp``) or of its chain under ``policy`` (a ``dtmc``).

    Parameters
    ----------
    env : FiniteMDP
    policy : Policy or array_like, optional
        If given, export the Markov chain ``P_pi`` instead of the MDP.
    rewards : array_like or mapping of name to array_like, optional
        Markov rewards (``[S]``, ``[S, A]`` or ``[S, A, S]``), each written as a ``rewards``
        structure; a single array is named ``"r"``.
    include_labels : bool
        Write the propositions as PRISM labels.
    module : str
        The module's name.

    Returns
    -------
    str

    Raises
    ------
    InvalidModelError
        On transition labels (unless ``include_labels=False``) or propositions that are
        not valid labels, or when ``env`` is not a :class:`FiniteMDP` (for a ``SpecEnv``,
        pass ``env.mdp``).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.array([[[0.5, 0.5]], [[0.0, 1.0]]]), [1.0, 0.0], labels={1: ["goal"]})
    >>> print(to_prism(env, rewards=[1.0, 0.0]))
    // exported by objspec: 2 states, 1 actions
    mdp
    <BLANKLINE>
    module objspec
      s : [0..1] init 0;
      [a0] s=0 -> 0.5:(s'=0) + 0.5:(s'=1);
      [a0] s=1 -> 1:(s'=1);
    endmodule
    <BLANKLINE>
    label "goal" = s=1;
    <BLANKLINE>
    rewards "r"
      [a0] s=0 : 1;
    endrewards
    <BLANKLINE>
    """
    _require_mdp(env, "to_prism")
    if not _IDENTIFIER.match(module):
        raise InvalidModelError(f"module name {module!r} is not an identifier")
    pi = _as_policy(env, policy)
    labels = _check_label_names(env, include_labels)
    reward_table = _reward_table(env, rewards, pi)
    S, A = env.n_states, env.n_actions
    support = np.flatnonzero(env.initial > 0)
    lines = [f"// exported by objspec: {S} states, {A} actions"]
    if pi is not None:
        lines.append("// the Markov chain induced by a policy")
    if len(support) > 1:
        weights = ", ".join(f"{int(s)}: {_number(env.initial[s])}" for s in support)
        lines.append(f"// initial distribution (Storm uses its support): {{{weights}}}")
    lines.append("dtmc" if pi is not None else "mdp")
    lines.append("")
    lines.append(f"module {module}")
    init = f" init {int(support[0])}" if len(support) == 1 else ""
    lines.append(f"  s : [0..{S - 1}]{init};")

    exact = env.is_exact and pi is None
    exact_P = env.exact_transitions() if exact else None
    if pi is None:
        actions = _action_identifiers(env)
        matrix = env.transition_matrix
        for s in range(S):
            for a in env.enabled_actions(s).tolist():  # disabled actions have no command
                row = matrix[s * A + a]
                if exact_P is not None:
                    probs = [_fraction(exact_P[s, a, t]) for t in row.indices]
                else:
                    probs = [_number(p) for p in row.data]
                updates = " + ".join(
                    f"{p}:(s'={int(t)})" for p, t in zip(probs, row.indices, strict=True)
                )
                lines.append(f"  [{actions[a]}] s={s} -> {updates};")
    else:
        chain = _chain(env, pi)
        for s in range(S):
            row = chain[s]
            updates = " + ".join(
                f"{_number(p)}:(s'={int(t)})" for p, t in zip(row.data, row.indices, strict=True)
            )
            lines.append(f"  [] s={s} -> {updates};")
    lines.append("endmodule")
    lines.append("")
    if len(support) > 1:
        lines.append("init " + " | ".join(f"s={int(s)}" for s in support) + " endinit")
        lines.append("")
    if include_labels:
        for name in env.propositions:
            states = [s for s in range(S) if name in labels[s]]
            # a declared proposition that holds nowhere is the label false
            lines.append(f'label "{name}" = '
                         + (" | ".join(f"s={s}" for s in states) or "false") + ";")
        if env.propositions:
            lines.append("")
    for name, r in reward_table.items():
        lines.append(f'rewards "{name}"')
        if pi is None:
            actions = _action_identifiers(env)
            for s in range(S):
                for a in env.enabled_actions(s).tolist():
                    if r[s, a] != 0:
                        lines.append(f"  [{actions[a]}] s={s} : {_number(r[s, a])};")
        else:
            for s in range(S):
                if r[s] != 0:
                    lines.append(f"  s={s} : {_number(r[s])};")
        lines.append("endrewards")
        lines.append("")
    return "\n".join(lines)


def _fraction(x: Any) -> str:
    f = Fraction(x)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def to_drn(
    env: FiniteMDP,
    *,
    policy: Any = None,
    rewards: Any = None,
    include_labels: bool = True,
) -> str:
    """The text of ``env`` (or its chain under ``policy``) in Storm's explicit DRN format.

    Parameters are those of :func:`to_prism`. Under a policy the model is a ``DTMC`` with
    state rewards; otherwise an ``MDP`` with state-action rewards (one ``action`` block per
    action, named by the action).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.array([[[0.5, 0.5]], [[0.0, 1.0]]]), [1.0, 0.0], labels={1: ["goal"]})
    >>> print(to_drn(env))
    // exported by objspec
    @type: MDP
    @parameters
    <BLANKLINE>
    @reward_models
    <BLANKLINE>
    @nr_states
    2
    @nr_choices
    2
    @model
    state 0 init
        action a0
            0 : 0.5
            1 : 0.5
    state 1 goal
        action a0
            1 : 1
    <BLANKLINE>
    """
    _require_mdp(env, "to_drn")
    pi = _as_policy(env, policy)
    labels = _check_label_names(env, include_labels)
    reward_table = _reward_table(env, rewards, pi)
    names = list(reward_table)
    S, A = env.n_states, env.n_actions
    lines = ["// exported by objspec", f"@type: {'DTMC' if pi is not None else 'MDP'}"]
    lines += ["@parameters", "", "@reward_models", " ".join(names)]
    n_choices = S if pi is not None else int(env.n_enabled.sum())
    lines += ["@nr_states", str(S), "@nr_choices", str(n_choices), "@model"]
    actions = _action_identifiers(env)
    matrix = _chain(env, pi) if pi is not None else env.transition_matrix
    for s in range(S):
        head = f"state {s}"
        if pi is not None and names:
            head += " [" + ", ".join(_number(reward_table[n][s]) for n in names) + "]"
        marks = (["init"] if env.initial[s] > 0 else []) + sorted(labels[s])
        if marks:
            head += " " + " ".join(marks)
        lines.append(head)
        if pi is not None:
            choices = [(s, "0")]
        else:
            # Storm's row group of s: its enabled actions only
            choices = [(s * A + a, actions[a]) for a in env.enabled_actions(s).tolist()]
        for row_index, action_name in choices:
            a = row_index - s * A
            action_line = f"\taction {action_name}"
            if pi is None and names:
                action_line += " [" + ", ".join(
                    _number(reward_table[n][s, a]) for n in names
                ) + "]"
            lines.append(action_line)
            row = matrix[row_index]
            for t, p in zip(row.indices, row.data, strict=True):
                lines.append(f"\t\t{int(t)} : {_number(p)}")
    lines.append("")
    return "\n".join(lines)


def save_prism(env: FiniteMDP, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write :func:`to_prism` of ``env`` to ``path`` (keyword arguments as there)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(to_prism(env, **kwargs))


def save_drn(env: FiniteMDP, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write :func:`to_drn` of ``env`` to ``path`` (keyword arguments as there)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(to_drn(env, **kwargs))


def _storm_number(value: Any) -> float | Fraction:
    """A Storm matrix or reward entry: a float, or a Fraction for exact (Rational) models."""
    if isinstance(value, int | float):
        return float(value)
    numerator = getattr(value, "numerator", None)
    denominator = getattr(value, "denominator", None)
    if numerator is not None and denominator is not None:
        # gmp/cln integers print as decimal digits; int() of digits evaluates nothing
        return Fraction(int(str(numerator)), int(str(denominator)))
    return float(value)


def _row_groups(model: Any) -> tuple[np.ndarray, int, int]:
    """Storm's row-group starts ``[S + 1]`` (state ``s`` owns rows ``starts[s]:starts[s+1]``),
    ``S`` and ``A`` = the largest number of choices of a state."""
    n_states = int(model.nr_states)
    matrix = model.transition_matrix
    starts = np.array(
        [int(matrix.get_row_group_start(s)) for s in range(n_states)]
        + [int(matrix.get_row_group_end(n_states - 1))],
        dtype=np.int64,
    )
    sizes = np.diff(starts)
    if np.any(sizes < 1):
        s = int(np.argmax(sizes < 1))
        raise InvalidModelError(f"state {s} of the Storm model has no choice (a deadlock)")
    return starts, n_states, int(sizes.max())


def _storm_matrix(model: Any) -> tuple[sp.csr_matrix, np.ndarray, int, int, Any]:
    """Storm's transition matrix in objspec's layout.

    Storm stores the choices of state ``s`` as the rows of its *row group*; choice ``j`` of
    ``s`` becomes action ``j`` of ``s``, with ``A`` the largest number of choices, and the
    pairs ``(s, j)`` with ``j >=`` the number of choices of ``s`` are disabled (zero rows).

    Returns the CSR ``(S*A, S)`` float matrix, the ``[S, A]`` enabled mask, ``S``, ``A``
    and, for an exact (Rational) model, the entries as ``(rows, cols, Fractions)``.
    """
    starts, n_states, n_actions = _row_groups(model)
    matrix = model.transition_matrix
    sizes = np.diff(starts)
    enabled = np.arange(n_actions)[None, :] < sizes[:, None]
    state_of_row = np.repeat(np.arange(n_states), sizes)
    target_row = state_of_row * n_actions + (np.arange(int(starts[-1])) - starts[state_of_row])
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float | Fraction] = []
    for r in range(int(starts[-1])):
        out_row = int(target_row[r])
        for entry in matrix.get_row(r):
            rows.append(out_row)
            cols.append(int(entry.column))
            vals.append(_storm_number(entry.value))
    exact = None
    if vals and isinstance(vals[0], Fraction):
        exact = (rows, cols, vals)
    csr = sp.csr_matrix(
        (np.array([float(v) for v in vals]), (rows, cols)),
        shape=(n_states * n_actions, n_states),
    )
    return csr, enabled, n_states, n_actions, exact


#: Exact (Rational) Storm models up to this many ``S * A * S`` entries are imported with
#: Fraction probabilities (exact evaluation needs the dense layout); larger ones as floats.
EXACT_IMPORT_MAX_ENTRIES = 20_000


def from_storm(model: Any) -> FiniteMDP:
    """A sparse stormpy DTMC or MDP as a :class:`FiniteMDP`.

    A DTMC becomes an MDP with one action. An MDP's states may have different numbers of
    choices (Storm's *row groups*): choice ``j`` of state ``s`` becomes action ``j``,
    ``n_actions`` is the largest number of choices, and the missing actions of a state are
    disabled (:attr:`FiniteMDP.enabled`). State labels other than ``init`` and
    ``deadlock`` become propositions, all of them, including labels that hold in no state
    (so ``F "never"`` has value 0 and ``G !"never"`` value 1, as in Storm, instead of an
    unknown-proposition error); the initial distribution is uniform over Storm's initial
    states; states are named by their variable valuations (e.g. ``"[s=3]"``) when Storm
    built them. An exact model (``stormpy.build_model[stormpy.Rational]``) of at most
    :data:`EXACT_IMPORT_MAX_ENTRIES` dense entries keeps its probabilities as exact
    Fractions. Use :func:`storm_rewards` for the reward models.

    Raises
    ------
    InvalidModelError
        If the model is not a sparse DTMC or MDP, or has a state without a choice.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import pytest; stormpy = pytest.importorskip("stormpy")  # needs stormpy
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.array([[[0.5, 0.5]], [[0.0, 1.0]]]), [1.0, 0.0], labels={1: ["goal"]})
    >>> path = os.path.join(tempfile.mkdtemp(), "m.drn")
    >>> save_drn(env, path)
    >>> back = from_storm(stormpy.build_model_from_drn(path))
    >>> back.transitions.tolist(), back.propositions
    ([[[0.5, 0.5]], [[0.0, 1.0]]], ('goal',))
    """
    kind = str(getattr(model, "model_type", type(model).__name__)).rsplit(".", 1)[-1]
    if kind not in ("DTMC", "MDP") or not getattr(model, "is_sparse_model", False):
        raise InvalidModelError(f"from_storm reads sparse DTMCs and MDPs; got {kind}")
    matrix, enabled, n_states, n_actions, exact = _storm_matrix(model)
    initial = np.zeros(n_states)
    initial[[int(s) for s in model.initial_states]] = 1.0
    if initial.sum() == 0:
        raise InvalidModelError("the Storm model has no initial state")
    n_initial = int(initial.sum())
    labelling = model.labeling
    labels: dict[int, list[str]] = {}
    declared = sorted(set(labelling.get_labels()) - {"init", "deadlock"})
    for name in declared:
        for s in labelling.get_states(name):
            labels.setdefault(int(s), []).append(name)
    transitions: Any = matrix
    initial_arg: Any = initial / n_initial
    size = n_states * n_actions * n_states
    if exact is not None and size <= EXACT_IMPORT_MAX_ENTRIES:
        table = np.full((n_states * n_actions, n_states), Fraction(0), dtype=object)
        rows, cols, vals = exact
        for r, c, v in zip(rows, cols, vals, strict=True):
            table[r, c] += v
        transitions = table.reshape(n_states, n_actions, n_states)
        initial_arg = [Fraction(int(x), n_initial) for x in initial]
    elif size <= 4_000_000:
        transitions = matrix.toarray().reshape(n_states, n_actions, n_states)
    names = None
    if getattr(model, "has_state_valuations", lambda: False)():
        valuations = model.state_valuations
        names = [valuations.to_string(s) for s in range(n_states)]
        if len(set(names)) != n_states:
            names = None
    return FiniteMDP(
        transitions, initial_arg, labels=labels or None, state_names=names,
        enabled=None if enabled.all() else enabled, propositions=declared,
    )


def storm_rewards(model: Any) -> dict[str, np.ndarray]:
    """The reward models of a sparse stormpy model, as ``[S, A]`` arrays (state reward
    plus state-action reward of each choice; zero on disabled actions, see
    :func:`from_storm`).

    Transition rewards are not read (:class:`InvalidModelError` if present).
    """
    starts, n_states, n_actions = _row_groups(model)
    sizes = np.diff(starts)
    state_of_row = np.repeat(np.arange(n_states), sizes)
    local = np.arange(int(starts[-1])) - starts[state_of_row]
    out: dict[str, np.ndarray] = {}
    for name, reward_model in model.reward_models.items():
        if reward_model.has_transition_rewards:
            raise InvalidModelError(
                f"reward model {name!r} has transition rewards, which objspec does not import"
            )
        r = np.zeros((n_states, n_actions))
        if reward_model.has_state_rewards:
            state = np.array([float(_storm_number(x)) for x in reward_model.state_rewards])
            r += (state[:, None] * (np.arange(n_actions)[None, :] < sizes[:, None]))
        if reward_model.has_state_action_rewards:
            per_choice = np.array(
                [float(_storm_number(x)) for x in reward_model.state_action_rewards]
            )
            r[state_of_row, local] += per_choice
        out[name or "r"] = r
    return out


def load_drn(path: str | os.PathLike[str]) -> FiniteMDP:
    """Read a DRN file through stormpy (see :func:`from_storm`).

    Raises
    ------
    ImportError
        If stormpy is not installed.
    """
    import stormpy

    return from_storm(stormpy.build_model_from_drn(os.fspath(path)))


def load_prism(
    path: str | os.PathLike[str], constants: str | None = None, *, exact: bool = False
) -> FiniteMDP:
    """Build a PRISM program (DTMC or MDP) with Storm and read it (see :func:`from_storm`).

    Parameters
    ----------
    path : str or path-like
        A PRISM file.
    constants : str, optional
        Values of undefined constants, e.g. ``"N=16,MAX=2"``.
    exact : bool
        Build with exact rational numbers (``stormpy.build_model[stormpy.Rational]``).

    States are named by their variable valuations; states with fewer choices than others
    have disabled actions (:attr:`FiniteMDP.enabled`). For the reward models build the
    model with stormpy and use :func:`storm_rewards`.

    Raises
    ------
    ImportError
        If stormpy is not installed.
    InvalidModelError
        If Storm cannot build the program (the message is Storm's), or it is not a DTMC/MDP.

    Examples
    --------
    >>> import pytest; stormpy = pytest.importorskip("stormpy")  # needs stormpy
    >>> import stormpy.examples.files as files
    >>> env = load_prism(files.prism_mdp_maze)
    >>> env.n_states, env.n_actions, int(env.n_enabled.sum())
    (15, 4, 54)
    """
    import stormpy

    try:
        program = stormpy.parse_prism_program(os.fspath(path))
        if constants:
            program, _ = stormpy.instantiate_constants(program, constants)
        options = stormpy.BuilderOptions()
        options.set_build_state_valuations()
        builder = stormpy.build_model[stormpy.Rational] if exact else stormpy.build_model
        model = builder(program, options=options)
    except (RuntimeError, stormpy.exceptions.StormError) as exc:
        raise InvalidModelError(f"Storm cannot build {os.fspath(path)!r}: {exc}") from None
    return from_storm(model)
