"""The finite, reward-free environment :class:`FiniteMDP`.

An environment is ``E = (S, A, tau, mu0)`` (docs/theory.md#environment): finite states and
actions, a transition kernel ``tau: S x A -> Delta(S)`` and an initial distribution
``mu0``. It carries no reward and no discount: those belong to the objective
specification. Optionally it carries a labelling with atomic propositions, used by LTL
formulas and reward machines.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidModelError
from objspec.mdp.arrays import real_array

__all__ = ["FiniteMDP", "ROW_TOLERANCE", "TransitionLabelFunction"]

#: Rows of transition matrices, initial distributions and policies must sum to 1 within this.
ROW_TOLERANCE = 1e-9

TransitionLabelFunction = Callable[[int, int, int], Iterable[str]]


def _is_rational_scalar(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, numbers.Rational):
        return True
    try:
        import sympy

        return isinstance(x, sympy.Rational)
    except ImportError:  # pragma: no cover - sympy is a dependency
        return False


def to_fraction(x: Any) -> Fraction:
    """Convert a rational scalar (int, Fraction, sympy Rational, exact float) to a Fraction."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, numbers.Rational):
        return Fraction(int(x.numerator), int(x.denominator))
    if isinstance(x, float | np.floating):
        return Fraction(float(x))
    try:
        import sympy

        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"{x!r} is not a rational number")


def rational_array(values: Any) -> np.ndarray | None:
    """Return an object array of Fractions if every entry of ``values`` is rational.

    Returns ``None`` for float (or mixed) input. Integers count as rational only when at
    least one entry is a non-integer rational, so plain integer arrays stay numeric.
    """
    if isinstance(values, np.ndarray) and values.dtype != object:
        # entries of a non-object array: floats, complex numbers, bools and strings are not
        # rational, and an array of integers alone stays numeric (as the test below finds)
        return None
    arr = np.asarray(values, dtype=object)
    flat = arr.ravel()
    if flat.size == 0 or not all(_is_rational_scalar(x) for x in flat):
        return None
    if all(isinstance(x, numbers.Integral) for x in flat):
        return None
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [to_fraction(x) for x in flat]
    return out


class FiniteMDP:
    """A finite, reward-free Markov decision process ``(S, A, tau, mu0)`` with labels.

    Parameters
    ----------
    transitions : array_like or scipy.sparse matrix
        Either an array shaped ``[S, A, S]`` with ``transitions[s, a, t]`` the probability of
        moving to ``t`` after action ``a`` in ``s``, or a sparse matrix shaped ``(S*A, S)``
        whose row ``s*A + a`` is ``transitions[s, a]`` (Storm's layout; use it for large S).
        Every row of an enabled action must be a probability distribution: finite,
        non-negative entries summing to 1 within ``1e-9`` (rows of disabled actions are
        zero, see ``enabled``). Entries given as :class:`fractions.Fraction` (or sympy
        rationals) are kept exactly for exact-arithmetic evaluation.
    initial : array_like
        The initial state distribution ``mu0``, shaped ``[S]``.
    labels : mapping or callable, optional
        Atomic propositions. A mapping ``{state: iterable of names}`` gives state labels
        (``state`` is an index or a state name; missing states carry no proposition); a
        callable ``(s, a, s_next) -> iterable of names`` gives transition labels. With
        state labels, the transition ``x_t = (s_t, a_t, s_{t+1})`` carries the labels of
        ``s_t``, so a trajectory's label word is ``L(s_0) L(s_1) ...`` as in PRISM/Storm.
    state_names, action_names : sequence of str, optional
        Distinct names, used in messages, drawings and exports.
    enabled : array_like of bool, optional
        ``[S, A]`` mask of the enabled actions (real models, e.g. PRISM/Storm MDPs, have a
        different set of choices per state). ``None`` (default) enables every action. Every
        state needs at least one enabled action. The row of a disabled pair ``(s, a)`` must
        be all zero: disabled pairs are stored as *zero rows* of the transition matrix
        (in the sparse layout they take no space), never as self-loops. Policies must put
        probability only on enabled actions, and every optimiser maximises only over them,
        so a zero row is never used. With ``enabled=None`` a zero row is an error.
    propositions : iterable of str, optional
        The alphabet ``AP`` of atomic propositions, declared explicitly. It must contain every
        proposition the labels use and may contain more: a proposition that holds nowhere
        (a hazard absent from this map, a PRISM label that no state satisfies) is still a
        proposition of the environment, so LTL formulas and reward-machine guards may mention
        it (it is false on every transition). Default: the propositions the labels use.

    Raises
    ------
    InvalidModelError
        On any malformed input; the message names the state, action and value at fault.
        Nothing is renormalised.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={1: ["goal"]})
    >>> env.n_states, env.n_actions, env.propositions
    (2, 2, ('goal',))
    >>> FiniteMDP(P, [1.0, 0.0], labels={1: ["goal"]}, propositions=["goal", "lava"]).propositions
    ('goal', 'lava')
    >>> FiniteMDP(P * 0.5, [1.0, 0.0])
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidModelError: transitions[s=0, a=0] sums to 0.5, not 1 (tolerance 1e-09)

    A state may lack an action: pass the ``enabled`` mask and leave the row zero.

    >>> Q = np.zeros((2, 2, 2)); Q[0, 0, 1] = Q[0, 1, 0] = Q[1, 0, 1] = 1.0
    >>> masked = FiniteMDP(Q, [1.0, 0.0], enabled=[[True, True], [True, False]])
    >>> masked.n_enabled.tolist(), masked.enabled_actions(1).tolist()
    ([2, 1], [0])
    """

    def __init__(
        self,
        transitions: Any,
        initial: Any,
        labels: Mapping[Any, Iterable[str]] | TransitionLabelFunction | None = None,
        state_names: Sequence[str] | None = None,
        action_names: Sequence[str] | None = None,
        enabled: Any = None,
        *,
        propositions: Iterable[str] | None = None,
    ) -> None:
        self._exact_transitions: np.ndarray | None = None
        self._dense: np.ndarray | None = None
        mask: np.ndarray | None = None
        if sp.issparse(transitions):
            coo = sp.coo_matrix(transitions)
            bad = np.flatnonzero(np.imag(coo.data)) if np.iscomplexobj(coo.data) else np.empty(0)
            if len(bad):
                k = int(bad[0])
                raise InvalidModelError(
                    f"transitions row {coo.row[k]} (s*A + a), column {coo.col[k]} = "
                    f"{complex(coo.data[k])} is complex; entries must be real numbers"
                )
            data = real_array(np.real(coo.data), "transitions (sparse entries)", InvalidModelError)
            matrix = sp.csr_matrix((data, (coo.row, coo.col)), shape=coo.shape)
            n_rows, n_states = matrix.shape
            if n_states == 0 or n_rows % n_states != 0 or n_rows == 0:
                raise InvalidModelError(
                    f"sparse transitions must be shaped (S*A, S); got {matrix.shape}"
                )
            n_actions = n_rows // n_states
            matrix.sum_duplicates()
            matrix.eliminate_zeros()
            mask = self._check_enabled(enabled, n_states, n_actions)
            self._check_sparse(matrix, n_states, n_actions, mask)
        else:
            exact = rational_array(transitions)
            dense = real_array(transitions, "transitions", InvalidModelError)
            if dense.ndim != 3 or dense.shape[0] != dense.shape[2] or 0 in dense.shape:
                raise InvalidModelError(
                    f"transitions must be shaped [S, A, S] with S, A >= 1; got {dense.shape}"
                )
            n_states, n_actions = dense.shape[0], dense.shape[1]
            mask = self._check_enabled(enabled, n_states, n_actions)
            self._check_dense(dense, mask)
            if exact is not None:
                self._check_exact_rows(exact, mask)
                self._exact_transitions = exact
                self._exact_transitions.flags.writeable = False
            dense.flags.writeable = False
            self._dense = dense
            matrix = sp.csr_matrix(dense.reshape(n_states * n_actions, n_states))
        self._matrix: sp.csr_matrix = matrix
        self._n_states = n_states
        self._n_actions = n_actions
        self._all_enabled = mask is None
        if mask is None:
            mask = np.ones((n_states, n_actions), dtype=bool)
        mask.flags.writeable = False
        self._enabled: np.ndarray = mask

        exact_init = rational_array(initial)
        init = real_array(initial, "initial", InvalidModelError)
        if init.shape != (n_states,):
            raise InvalidModelError(
                f"initial must be shaped [S] = [{n_states}]; got {init.shape}"
            )
        self._check_distribution(init, "initial")
        if exact_init is not None and sum(exact_init) != 1:
            raise InvalidModelError(f"initial sums to {sum(exact_init)}, not exactly 1")
        init.flags.writeable = False
        self._initial = init
        self._exact_initial = exact_init
        # given as rationals (not: converted later by exact_transitions / exact_initial)
        self._given_exact = self._exact_transitions is not None and exact_init is not None

        self._state_names = self._check_names(state_names, n_states, "state_names")
        self._action_names = self._check_names(action_names, n_actions, "action_names")
        self._state_labels: tuple[frozenset[str], ...] | None = None
        self._label_function: TransitionLabelFunction | None = None
        self._transition_labels: dict[tuple[int, int, int], frozenset[str]] | None = None
        self._propositions: tuple[str, ...] = ()
        self._label_masks: dict[str, np.ndarray] = {}
        self._declared: frozenset[str] | None = None
        if propositions is not None:
            self._declared = self._check_alphabet(propositions)
        if labels is not None:
            self._set_labels(labels)
        elif self._declared is not None:
            self._propositions = tuple(sorted(self._declared))

    # ------------------------------------------------------------------ validation
    def _where(self, s: int, a: int | None = None) -> str:
        text = f"s={s}" if a is None else f"s={s}, a={a}"
        names = getattr(self, "_state_names", None)
        if names is not None:
            text += f" ({names[s]!r})"
        return text

    @staticmethod
    def _check_enabled(enabled: Any, n_states: int, n_actions: int) -> np.ndarray | None:
        """Validate the ``[S, A]`` mask; ``None`` when every action is enabled."""
        if enabled is None:
            return None
        raw = np.asarray(enabled)
        if raw.shape != (n_states, n_actions):
            raise InvalidModelError(
                f"enabled must be shaped [S, A] = [{n_states}, {n_actions}]; got {raw.shape}"
            )
        if raw.dtype != bool:
            if raw.dtype.kind not in "iu" or not np.isin(raw, (0, 1)).all():
                raise InvalidModelError(
                    f"enabled must be a boolean [S, A] mask; got dtype {raw.dtype}"
                )
        mask = np.array(raw, dtype=bool)
        empty = ~mask.any(axis=1)
        if empty.any():
            s = int(np.argmax(empty))
            raise InvalidModelError(
                f"state {s} has no enabled action (enabled[{s}] is all False); every state "
                "needs at least one"
            )
        if mask.all():
            return None
        return mask

    @staticmethod
    def _row_sum_error(s: int, a: int, total: float, mask: np.ndarray | None) -> InvalidModelError:
        if mask is not None and not mask[s, a]:
            return InvalidModelError(
                f"transitions[s={s}, a={a}] has total probability {total:.12g}, but action {a} "
                f"is disabled in state {s} (enabled[{s}, {a}] is False): the row of a disabled "
                "action must be zero"
            )
        hint = ""
        if total == 0 and mask is None:
            hint = "; if the action does not exist in that state, pass an enabled= mask"
        return InvalidModelError(
            f"transitions[s={s}, a={a}] sums to {total:.12g}, not 1 "
            f"(tolerance {ROW_TOLERANCE:g}){hint}"
        )

    @staticmethod
    def _row_sums_wrong(sums: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """Bool array (shape of ``sums``): rows that are neither a distribution (enabled)
        nor zero (disabled)."""
        off = np.abs(sums - 1.0) > ROW_TOLERANCE
        if mask is not None:
            off = np.where(mask.reshape(sums.shape), off, sums != 0)
        return off

    @staticmethod
    def _check_dense(dense: np.ndarray, mask: np.ndarray | None = None) -> None:
        bad = ~np.isfinite(dense)
        if bad.any():
            s, a, t = (int(i) for i in np.argwhere(bad)[0])
            raise InvalidModelError(
                f"transitions[{s}, {a}, {t}] = {dense[s, a, t]} is not finite"
            )
        neg = dense < 0
        if neg.any():
            s, a, t = (int(i) for i in np.argwhere(neg)[0])
            raise InvalidModelError(
                f"transitions[{s}, {a}, {t}] = {dense[s, a, t]} is negative"
            )
        sums = dense.sum(axis=2)
        off = FiniteMDP._row_sums_wrong(sums, mask)
        if off.any():
            s, a = (int(i) for i in np.argwhere(off)[0])
            raise FiniteMDP._row_sum_error(s, a, float(sums[s, a]), mask)

    @staticmethod
    def _check_sparse(
        matrix: sp.csr_matrix, n_states: int, n_actions: int, mask: np.ndarray | None = None
    ) -> None:
        data = matrix.data
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        for wrong, what in ((~np.isfinite(data), "is not finite"), (data < 0, "is negative")):
            if wrong.any():
                k = int(np.argmax(wrong))
                r, t = int(rows[k]), int(matrix.indices[k])
                raise InvalidModelError(
                    f"transitions[{r // n_actions}, {r % n_actions}, {t}] = {data[k]} {what}"
                )
        sums = np.asarray(matrix.sum(axis=1)).ravel()
        off = FiniteMDP._row_sums_wrong(sums, mask)
        if off.any():
            r = int(np.argmax(off))
            raise FiniteMDP._row_sum_error(r // n_actions, r % n_actions, float(sums[r]), mask)

    @staticmethod
    def _check_exact_rows(exact: np.ndarray, mask: np.ndarray | None = None) -> None:
        for s in range(exact.shape[0]):
            for a in range(exact.shape[1]):
                if mask is not None and not mask[s, a]:
                    continue  # a zero row (checked in floating point, where 0 is exact)
                total = sum(exact[s, a])
                if total != 1:
                    raise InvalidModelError(
                        f"transitions[s={s}, a={a}] sums to {total}, not exactly 1 "
                        "(rational input is checked exactly)"
                    )

    @staticmethod
    def _check_distribution(vec: np.ndarray, what: str) -> None:
        if not np.all(np.isfinite(vec)):
            i = int(np.argmax(~np.isfinite(vec)))
            raise InvalidModelError(f"{what}[{i}] = {vec[i]} is not finite")
        if np.any(vec < 0):
            i = int(np.argmax(vec < 0))
            raise InvalidModelError(f"{what}[{i}] = {vec[i]} is negative")
        total = float(vec.sum())
        if abs(total - 1.0) > ROW_TOLERANCE:
            raise InvalidModelError(
                f"{what} sums to {total:.12g}, not 1 (tolerance {ROW_TOLERANCE:g})"
            )

    @staticmethod
    def _check_names(names: Sequence[str] | None, n: int, what: str) -> tuple[str, ...] | None:
        if names is None:
            return None
        if isinstance(names, str):
            raise InvalidModelError(f"{what} must be a sequence of strings, not one string")
        names = tuple(names)
        if len(names) != n:
            raise InvalidModelError(f"{what} has {len(names)} entries; expected {n}")
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise InvalidModelError(f"{what}[{i}] = {name!r} is not a string")
        if len(set(names)) != n:
            dup = next(x for x in names if names.count(x) > 1)
            raise InvalidModelError(f"{what} contains {dup!r} more than once")
        return names

    @staticmethod
    def _check_label_set(names: Any, where: str) -> frozenset[str]:
        if isinstance(names, str):
            names = [names]
        try:
            items = list(names)
        except TypeError:
            raise InvalidModelError(
                f"labels of {where} must be an iterable of strings; got {names!r}"
            ) from None
        for item in items:
            if not isinstance(item, str):
                raise InvalidModelError(
                    f"label {item!r} of {where} is not a string (propositions are strings)"
                )
            if item in ("true", "false") or not item:
                raise InvalidModelError(f"label {item!r} of {where} is not a valid proposition")
        return frozenset(items)

    @classmethod
    def _check_alphabet(cls, propositions: Any) -> frozenset[str]:
        if isinstance(propositions, str):
            raise InvalidModelError(
                "propositions must be an iterable of names, not one string "
                f"(write [{propositions!r}])"
            )
        try:
            names = list(propositions)
        except TypeError:
            raise InvalidModelError(
                f"propositions must be an iterable of strings; got {propositions!r}"
            ) from None
        return cls._check_label_set(names, "the declared propositions")

    def _check_declared(self, used: frozenset[str], where: str) -> None:
        if self._declared is None or used <= self._declared:
            return
        extra = sorted(used - self._declared)
        raise InvalidModelError(
            f"the labels of {where} use {', '.join(map(repr, extra))}, which "
            f"{'is' if len(extra) == 1 else 'are'} not among the declared propositions "
            f"({', '.join(map(repr, sorted(self._declared))) or 'none'})"
        )

    def _state_index(self, key: Any) -> int:
        if isinstance(key, str):
            if self._state_names is None or key not in self._state_names:
                raise InvalidModelError(f"labels name a state {key!r} that does not exist")
            return self._state_names.index(key)
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            if 0 <= int(key) < self._n_states:
                return int(key)
        raise InvalidModelError(
            f"labels name a state {key!r} that does not exist (states are 0..{self._n_states - 1}"
            + (" or their names)" if self._state_names else ")")
        )

    def _set_labels(self, labels: Any) -> None:
        props: set[str] = set()
        if isinstance(labels, Mapping):
            per_state: list[frozenset[str]] = [frozenset()] * self._n_states
            for key, names in labels.items():
                s = self._state_index(key)
                names_s = self._check_label_set(names, f"state {key!r}")
                self._check_declared(names_s, f"state {key!r}")
                per_state[s] = per_state[s] | names_s
            self._state_labels = tuple(per_state)
            for ls in per_state:
                props |= ls
        elif callable(labels):
            self._label_function = labels
            table: dict[tuple[int, int, int], frozenset[str]] = {}
            coo = self._matrix.tocoo()
            for r, t in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
                s, a = divmod(r, self._n_actions)
                where = f"transition (s={s}, a={a}, s'={t})"
                try:
                    result = labels(s, a, t)
                except Exception as exc:
                    raise InvalidModelError(f"label function failed on {where}: {exc}") from exc
                table[(s, a, t)] = self._check_label_set(result, where)
                self._check_declared(table[(s, a, t)], where)
                props |= table[(s, a, t)]
            self._transition_labels = table
        else:
            raise InvalidModelError(
                "labels must be None, a mapping {state: names} or a callable (s, a, s') -> names; "
                f"got {type(labels).__name__}"
            )
        self._propositions = tuple(sorted(props if self._declared is None else self._declared))

    # ------------------------------------------------------------------ attributes
    @property
    def n_states(self) -> int:
        """Number of states ``|S|``."""
        return self._n_states

    @property
    def n_actions(self) -> int:
        """Number of actions ``|A|``: the largest number of actions of a state.

        Arrays over actions (policies, ``[S, A]`` rewards) have this many columns in every
        state; :attr:`enabled` says which of them exist in which state.
        """
        return self._n_actions

    @property
    def enabled(self) -> np.ndarray:
        """Read-only ``[S, A]`` bool mask: ``enabled[s, a]`` iff action ``a`` exists in ``s``."""
        return self._enabled

    @property
    def all_enabled(self) -> bool:
        """True when every action is enabled in every state (no mask)."""
        return self._all_enabled

    @property
    def n_enabled(self) -> np.ndarray:
        """``[S]`` ints: the number of enabled actions of every state (each ``>= 1``)."""
        return self._enabled.sum(axis=1)

    def enabled_actions(self, s: int) -> np.ndarray:
        """The enabled actions of state ``s``, ascending."""
        return np.flatnonzero(self._enabled[s])

    @property
    def transitions(self) -> np.ndarray:
        """Read-only dense transition tensor ``[S, A, S]`` (built on demand for sparse input;
        zero rows for disabled actions)."""
        if self._dense is None:
            dense = self._matrix.toarray().reshape(self._n_states, self._n_actions, self._n_states)
            dense.flags.writeable = False
            self._dense = dense
        return self._dense

    @property
    def transition_matrix(self) -> sp.csr_matrix:
        """Transitions as a CSR matrix ``(S*A, S)``; row ``s*A + a`` is ``tau(. | s, a)``."""
        return self._matrix

    @property
    def initial(self) -> np.ndarray:
        """Read-only initial distribution ``[S]``."""
        return self._initial

    @property
    def is_exact(self) -> bool:
        """Whether transitions and initial distribution were given as exact rationals (a
        float model stays inexact after :meth:`exact_transitions` converts it)."""
        return self._given_exact

    @property
    def state_names(self) -> tuple[str, ...]:
        """State names (``s0, s1, ...`` unless given)."""
        return self._state_names or tuple(f"s{i}" for i in range(self._n_states))

    @property
    def action_names(self) -> tuple[str, ...]:
        """Action names (``a0, a1, ...`` unless given)."""
        return self._action_names or tuple(f"a{i}" for i in range(self._n_actions))

    @property
    def propositions(self) -> tuple[str, ...]:
        """Sorted tuple of the atomic propositions: the declared alphabet (``propositions=``),
        else those that occur in the labels."""
        return self._propositions

    def with_labels(
        self,
        labels: Mapping[Any, Iterable[str]] | TransitionLabelFunction | None,
        *,
        propositions: Iterable[str] | None = None,
    ) -> FiniteMDP:
        """The same environment with another labelling (and alphabet).

        Transitions, initial distribution, names and everything else are shared, not copied
        (nothing is densified); only the labels are replaced. ``labels`` and
        ``propositions`` are read as by the constructor. LTL and reward-machine
        specifications that carry their own labelling are evaluated in this view.

        Raises
        ------
        InvalidModelError
            On malformed labels, as the constructor.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import FiniteMDP
        >>> env = FiniteMDP(np.ones((2, 1, 2)) / 2, [1.0, 0.0], labels={1: ["goal"]})
        >>> other = env.with_labels({0: ["home"]}, propositions=["home", "lava"])
        >>> other.propositions, other.state_labels, env.propositions
        (('home', 'lava'), (frozenset({'home'}), frozenset()), ('goal',))
        """
        out = copy.copy(self)
        out._state_labels = None
        out._label_masks = {}
        out._label_function = None
        out._transition_labels = None
        out._propositions = ()
        out._declared = None if propositions is None else self._check_alphabet(propositions)
        if labels is not None:
            out._set_labels(labels)
        elif out._declared is not None:
            out._propositions = tuple(sorted(out._declared))
        return out

    @property
    def has_state_labels(self) -> bool:
        """True when labels were given per state (or there are none)."""
        return self._label_function is None

    @property
    def state_labels(self) -> tuple[frozenset[str], ...] | None:
        """Per-state label sets, or ``None`` if labels are given on transitions."""
        if self._label_function is not None:
            return None
        return self._state_labels or tuple(frozenset() for _ in range(self._n_states))

    def proposition_mask(self, name: str) -> np.ndarray:
        """Read-only ``[S]`` bool mask of the states whose label contains ``name``.

        Computed once per proposition and kept on the environment (its state labels are
        immutable; :meth:`with_labels` makes a new environment with its own masks). A name
        that is not a proposition holds nowhere.

        Raises
        ------
        InvalidModelError
            If the labels are given on transitions (there is no per-state label).

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import FiniteMDP
        >>> env = FiniteMDP(np.ones((3, 1, 3)) / 3, [1.0, 0.0, 0.0], labels={1: ["a"], 2: ["a"]})
        >>> env.proposition_mask("a").tolist()
        [False, True, True]
        """
        mask = self._label_masks.get(name)
        if mask is None:
            labels = self.state_labels
            if labels is None:
                raise InvalidModelError(
                    f"proposition_mask({name!r}): the labels of this environment are given on "
                    "transitions, not on states")
            mask = np.fromiter((name in ls for ls in labels), dtype=bool, count=self._n_states)
            mask.flags.writeable = False
            self._label_masks[name] = mask
        return mask

    def label(self, s: int, a: int, s_next: int) -> frozenset[str]:
        """The label set ``L(s, a, s_next)`` of one transition."""
        if self._label_function is None:
            labels = self.state_labels
            assert labels is not None
            return labels[s]
        assert self._transition_labels is not None
        key = (s, a, s_next)
        if key not in self._transition_labels:
            names = self._check_label_set(self._label_function(s, a, s_next), f"transition {key}")
            self._check_declared(names, f"transition {key}")
            return names
        return self._transition_labels[key]

    def exact_transitions(self) -> np.ndarray:
        """Transitions ``[S, A, S]`` as an object array of :class:`fractions.Fraction`.

        Rational input is returned as given. Float input is converted exactly (every float
        is a dyadic rational); if a row then does not sum to exactly 1 the model has no
        exact meaning and :class:`InvalidModelError` is raised.
        """
        if self._exact_transitions is not None:
            return self._exact_transitions
        dense = self.transitions
        out = np.empty(dense.shape, dtype=object)
        out.ravel()[:] = [Fraction(float(x)) for x in dense.ravel()]
        try:
            self._check_exact_rows(out, None if self._all_enabled else self._enabled)
        except InvalidModelError as exc:
            raise InvalidModelError(
                f"{exc}; exact evaluation needs rational probabilities: build the FiniteMDP "
                "from fractions.Fraction entries"
            ) from None
        out.flags.writeable = False
        self._exact_transitions = out
        return out

    def exact_initial(self) -> np.ndarray:
        """The initial distribution as an object array of Fractions (see exact_transitions)."""
        if self._exact_initial is not None:
            return self._exact_initial
        out = np.array([Fraction(float(x)) for x in self._initial], dtype=object)
        if sum(out) != 1:
            raise InvalidModelError(
                "initial does not sum to exactly 1 as rationals; build the FiniteMDP from "
                "fractions.Fraction entries for exact evaluation"
            )
        self._exact_initial = out
        return out

    def successors(self, s: int, a: int) -> tuple[np.ndarray, np.ndarray]:
        """Successor states and their probabilities after action ``a`` in state ``s``."""
        row = self._matrix[s * self._n_actions + a]
        return row.indices.copy(), row.data.copy()

    def check_compatible(self, n_states: int, n_actions: int | None, what: str) -> None:
        """Raise if an object of size ``(n_states, n_actions)`` does not fit this MDP."""
        from objspec.errors import InvalidSpecificationError

        if n_states != self._n_states or (n_actions is not None and n_actions != self._n_actions):
            size = f"{n_states} states" + ("" if n_actions is None else f", {n_actions} actions")
            raise InvalidSpecificationError(
                f"{what} is for {size}, but the environment has {self._n_states} states, "
                f"{self._n_actions} actions"
            )

    def __repr__(self) -> str:
        props = f", propositions={list(self._propositions)}" if self._propositions else ""
        masked = ""
        if not self._all_enabled:
            masked = f", enabled={int(self._enabled.sum())}/{self._enabled.size} pairs"
        return (
            f"FiniteMDP(n_states={self._n_states}, n_actions={self._n_actions}{masked}{props})"
        )

    def _repr_svg_(self) -> str | None:
        """Jupyter: the state graph (:func:`objspec.display.mdp_svg`); None when too large."""
        from objspec.display import mdp_repr_svg

        return mdp_repr_svg(self)
