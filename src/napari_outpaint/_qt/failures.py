"""What a failed run tells the user: what to do, why, and the details.

:func:`describe_failure` turns any exception a run ended with into a
:class:`Failure`: the advice a notification leads with, the short reason
the widget's status line shows, and the full details a user can copy into
a bug report. The project's typed errors (:mod:`napari_outpaint._errors`)
give the reason and the fix; an unexpected exception still gets both.
No Qt here: the widget shows what this module writes.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass

from napari_outpaint._errors import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    InsufficientCreditError,
    NotFoundError,
    OutpaintError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
)
from napari_outpaint._secrets import scrub

__all__ = ['Failure', 'describe_failure', 'sentence']

REPORT_URL = 'https://github.com/napari-outpaint/napari-outpaint/issues'

# What the API's status means, in a few words (the status line's reason).
_STATUS_REASONS: tuple[tuple[type[APIStatusError], str], ...] = (
    (AuthenticationError, 'Runflow refused the API key'),
    (InsufficientCreditError, 'no Runflow credit'),
    (PermissionDeniedError, 'the API key lacks a permission'),
    (NotFoundError, 'Runflow knows no such run or asset'),
    (ConflictError, 'Runflow saw a conflicting request'),
    (ValidationError, 'Runflow rejected the input'),
    (RateLimitError, 'too many requests to Runflow'),
    (ServiceUnavailableError, 'Runflow is unavailable'),
)
# A sentence ends at . ! or ? followed by a capital or a back-quote; so
# 'e.g. plane=' or 'app.runflow.io' do not end one.
_SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z`])')


@dataclass(frozen=True)
class Failure:
    """A failed run, told three ways.

    Attributes
    ----------
    advice : str
        What to do, as full sentences (a notification leads with it).
    reason : str
        Why, in a few words, without a final stop.
    details : str
        Everything known (error type, full message, traceback for an
        unexpected error), without secrets: for "Copy details".
    """

    advice: str
    reason: str
    details: str

    @property
    def notification(self) -> str:
        """The advice first, then the reason: ``'Top up ... (402).'``."""
        return self.message('Outpaint failed')

    def message(self, what: str) -> str:
        """``'<advice> <what>: <reason>.'``, e.g. for another action."""
        return f'{sentence(self.advice)} {what}: {sentence(self.reason)}'

    @property
    def status(self) -> str:
        """``'failed: no Runflow credit (402): top up your ...'``."""
        advice = _first_sentence(self.advice).rstrip('.!?')
        return f'failed: {self.reason}: {advice[:1].lower()}{advice[1:]}'


def sentence(text: str) -> str:
    """*text* stripped, ending with exactly one full stop (or ! or ?)."""
    text = text.strip()
    return text if text.endswith(('.', '!', '?')) else f'{text}.'


def describe_failure(exc: BaseException) -> Failure:
    """What to tell the user about *exc*, the error a run ended with.

    Parameters
    ----------
    exc : BaseException
        A typed :class:`~napari_outpaint._errors.OutpaintError` (its hint
        or its message's own advice is used) or any unexpected exception.

    Returns
    -------
    Failure
    """
    if isinstance(exc, APIStatusError):
        advice, reason = _status_advice(exc), _status_reason(exc)
    elif isinstance(exc, OutpaintError):
        first, *rest = _sentences(str(exc)) or [type(exc).__name__]
        reason = first.rstrip('.!?')
        advice = ' '.join(rest) or (
            'Check the inputs and the settings named above, then run again.'
        )
    else:
        reason = f'unexpected {type(exc).__name__}'
        if str(exc):
            reason += f': {str(exc).rstrip(".!?")}'
        advice = _unexpected_advice(exc)
    return Failure(
        advice=_clean(advice), reason=_clean(reason), details=_details(exc)
    )


def _status_reason(exc: APIStatusError) -> str:
    for kind, reason in _STATUS_REASONS:
        if isinstance(exc, kind):
            return f'{reason} ({exc.status_code})'
    return f'Runflow API error {exc.status_code}'


def _status_advice(exc: APIStatusError) -> str:
    if isinstance(exc, ValidationError):
        _, _, fields = str(exc).partition(' Fields: ')
        if fields:
            return f'Fix these fields and run again: {fields}'
    return exc.hint


def _unexpected_advice(exc: BaseException) -> str:
    """Advice for an error no module raised on purpose."""
    if isinstance(exc, OSError):
        if exc.filename:
            return (
                f'Check {exc.filename} (it could not be used), then run again.'
            )
        for name in ('SSL_CERT_FILE', 'SSL_CERT_DIR'):
            path = os.environ.get(name)
            if path and not os.path.exists(path):
                return (
                    f'Fix or unset {name}: it names {path}, which does not '
                    'exist, so no secure connection can be made.'
                )
        return (
            'Check the files and folders the run uses (the cache, the CA '
            'bundle), then run again; Copy details shows the full error.'
        )
    return (
        'This looks like a bug: use Copy details in the Outpaint panel and '
        f'report it at {REPORT_URL}.'
    )


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def _first_sentence(text: str) -> str:
    parts = _sentences(text)
    return parts[0] if parts else text


def _details(exc: BaseException) -> str:
    """Type, message and (when there is one) traceback, secrets removed."""
    return _clean(''.join(traceback.format_exception(exc)).rstrip())


def _clean(text: str) -> str:
    """*text* without the API key or presigned query strings."""
    return str(scrub(text))
