"""The cost guard: a price shown before paying, and a per-session cap.

Pure bookkeeping: no I/O, no UI. The widget and the CLI render a
:class:`CostEstimate` and ask the user; a batch refuses any paid run until
a confirmation approved it, and a :class:`SpendCap` stops new runs once a
session has spent its limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from napari_outpaint._errors import (
    BudgetError,
    InvalidInputError,
)
from napari_outpaint._settings import SPEND_CAP, env_value, setting_value

__all__ = [
    'SPEND_CAP_ENV',
    'ConfirmCallback',
    'CostEstimate',
    'SpendCap',
    'estimate_cost',
    'price_of',
    'session_spend_cap',
    'spend_cap_from_env',
    'spend_cap_setting',
]

#: Environment variable holding the session spend cap in USD (unset: none).
SPEND_CAP_ENV = SPEND_CAP.env  # 'NAPARI_OUTPAINT_SPEND_CAP_USD'


@dataclass(frozen=True)
class CostEstimate:
    """What a batch will cost before it starts.

    Attributes
    ----------
    n_planes : int
        Planes selected.
    n_cached : int
        Planes answered from the local cache, free.
    n_pending : int
        Planes whose run was already submitted earlier: collected, not
        paid again.
    price_usd : float
        Price of one paid run.
    n_passes : int
        Runs per plane (a canvas beyond one Runflow pass takes several).
    """

    n_planes: int
    n_cached: int = 0
    n_pending: int = 0
    price_usd: float = 0.0
    n_passes: int = 1

    @property
    def n_paid(self) -> int:
        """Planes that need a new, paid run."""
        return max(0, self.n_planes - self.n_cached - self.n_pending)

    @property
    def total_usd(self) -> float:
        """The price of the new runs."""
        return round(self.n_paid * self.n_passes * self.price_usd, 2)

    @property
    def needs_confirmation(self) -> bool:
        """Whether any money would be spent."""
        return self.n_paid > 0 and self.price_usd > 0

    @property
    def text(self) -> str:
        """E.g. ``'12 planes x $0.55 = $6.60 (3 cached: free)'``, or
        ``'1 plane x 2 passes x $0.55 = $1.10'``."""
        word = 'plane' if self.n_paid == 1 else 'planes'
        passes = f' x {self.n_passes} passes' if self.n_passes > 1 else ''
        text = (
            f'{self.n_paid} {word}{passes} x ${self.price_usd:.2f} = '
            f'${self.total_usd:.2f}'
        )
        notes = []
        if self.n_cached:
            notes.append(f'{self.n_cached} cached: free')
        if self.n_pending:
            notes.append(
                f'{self.n_pending} already submitted: collected, not '
                'paid again'
            )
        return f'{text} ({"; ".join(notes)})' if notes else text

    def __str__(self) -> str:
        return self.text


ConfirmCallback = Callable[[CostEstimate], bool]


def is_confirmed(
    estimate: CostEstimate, confirm: ConfirmCallback | bool | None
) -> bool:
    """Whether *confirm* agrees to *estimate*: True, or a callable shown
    the estimate that returns True."""
    return confirm is True or (callable(confirm) and bool(confirm(estimate)))


def estimate_cost(
    n_planes: int,
    engine: Any,
    *,
    n_cached: int = 0,
    n_pending: int = 0,
    n_passes: int = 1,
) -> CostEstimate:
    """The cost of outpainting *n_planes* planes with *engine*.

    Parameters
    ----------
    n_planes : int
        Planes selected.
    engine : Engine
        Its ``price_per_image_usd`` is the price of one run.
    n_cached, n_pending : int
        Planes free from the cache / already submitted.
    n_passes : int
        Runs per plane.

    Examples
    --------
    >>> class E:
    ...     price_per_image_usd = 0.55
    >>> estimate_cost(12, E()).text
    '12 planes x $0.55 = $6.60'
    """
    for name, value in (
        ('n_planes', n_planes),
        ('n_cached', n_cached),
        ('n_pending', n_pending),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(
                name, f'must be an int >= 0, got {value!r}.'
            )
    if (
        isinstance(n_passes, bool)
        or not isinstance(n_passes, int)
        or n_passes < 1
    ):
        raise InvalidInputError(
            'n_passes', f'must be an int >= 1, got {n_passes!r}.'
        )
    return CostEstimate(
        n_planes, n_cached, n_pending, price_of(engine), n_passes
    )


def price_of(engine: Any) -> float:
    """The price of one run of *engine* in USD (0 when it has none)."""
    return float(getattr(engine, 'price_per_image_usd', 0.0) or 0.0)


class SpendCap:
    """A per-session spending limit, safe across threads.

    A run reserves its price before it starts and settles it when it
    ends: charged (success, or an outcome that may be billed) or released
    (failed runs are not billed). Reserving beyond the limit raises
    :class:`~napari_outpaint.BudgetError`, so no new run starts.

    Parameters
    ----------
    limit_usd : float or None
        The cap; None (default) means no cap.
    """

    def __init__(self, limit_usd: float | None = None) -> None:
        self._lock = threading.Lock()
        self.limit_usd = limit_usd
        self._spent = 0.0
        self._reserved = 0.0

    @property
    def limit_usd(self) -> float | None:
        """The cap in USD, or None for no cap."""
        return self._limit

    @limit_usd.setter
    def limit_usd(self, value: float | None) -> None:
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
        ):
            raise InvalidInputError(
                'limit_usd', f'must be None or a number >= 0, got {value!r}.'
            )
        self._limit = None if value is None else float(value)

    @property
    def spent_usd(self) -> float:
        """What this session has spent so far."""
        return round(self._spent, 2)

    def reserve(self, amount: float) -> None:
        """Reserve *amount* for a new run, or raise ``BudgetError``."""
        with self._lock:
            committed = self._spent + self._reserved
            if (
                self._limit is not None
                and amount > 0
                and committed + amount > self._limit + 1e-9
            ):
                raise BudgetError(
                    f'The session spend cap of ${self._limit:.2f} is '
                    f'reached (${committed:.2f} spent or committed; the '
                    f'next run costs ${amount:.2f}); nothing was sent for '
                    'it. To continue, raise the cap: environment variable '
                    f'{SPEND_CAP_ENV}, command-line flag --spend-cap USD, '
                    "the widget's Options (spend_cap_usd in the settings "
                    'file), or in Python napari_outpaint.session_spend_cap()'
                    '.limit_usd (None removes it). Finished results are '
                    'kept; results in the cache are free.'
                )
            self._reserved += amount

    def settle(self, amount: float, *, charged: bool) -> None:
        """End a reservation: count it as spent, or release it."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - amount)
            if charged:
                self._spent += amount


_SESSION_CAP: SpendCap | None = None
_SESSION_LOCK = threading.Lock()


def session_spend_cap() -> SpendCap:
    """The process-wide cap shared by the widget, the API and the CLI.

    Created on first use with the limit :func:`spend_cap_setting` reads
    (``NAPARI_OUTPAINT_SPEND_CAP_USD``, else the settings file; off when
    neither sets it). Change it at any time with
    ``session_spend_cap().limit_usd = 5.0``; ``None`` removes it.

    Raises
    ------
    ConfigurationError
        When the environment variable or the file's ``spend_cap_usd`` is
        not a number >= 0.
    """
    global _SESSION_CAP
    with _SESSION_LOCK:
        if _SESSION_CAP is None:
            _SESSION_CAP = SpendCap(spend_cap_setting())
        return _SESSION_CAP


def spend_cap_from_env() -> float | None:
    """The cap in ``NAPARI_OUTPAINT_SPEND_CAP_USD``, or None when unset.

    Raises
    ------
    ConfigurationError
        Naming the variable, when it is not a finite number >= 0.
    """
    return env_value(SPEND_CAP)


def spend_cap_setting() -> float | None:
    """The cap in ``NAPARI_OUTPAINT_SPEND_CAP_USD``, else ``spend_cap_usd``
    in the settings file, else None (no cap).

    Raises
    ------
    ConfigurationError
        Naming the variable, or the file and the key, for a bad value.
    """
    return setting_value(SPEND_CAP)
