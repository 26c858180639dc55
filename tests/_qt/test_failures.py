"""What a failed run tells the user: advice first, reason, details."""

from __future__ import annotations

import pytest

from napari_outpaint._errors import (
    APIConnectionError,
    AuthenticationError,
    InsufficientCreditError,
    RunFailedError,
    RunTimeoutError,
    ServiceUnavailableError,
    SubmissionUnknownError,
    ValidationError,
)
from napari_outpaint._qt.failures import REPORT_URL, describe_failure, sentence


def _raised(exc: BaseException) -> BaseException:
    """*exc* with a traceback, as a run would hand it over."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - any error, for test
        return caught


def test_402_leads_with_top_up_and_the_status_says_why():
    """The notification starts with what to do; the status line names
    the reason and the fix; the details keep the API's own message."""
    exc = InsufficientCreditError(
        402, code='INSUFFICIENT_CREDIT', api_message='No credit left.'
    )
    failure = describe_failure(exc)
    assert failure.notification.startswith('Top up your Runflow credit')
    assert failure.notification.endswith(
        'Outpaint failed: no Runflow credit (402).'
    )
    assert failure.status.startswith(
        'failed: no Runflow credit (402): top up your Runflow credit at '
        'app.runflow.io'
    )
    assert 'No credit left' in failure.details
    assert 'InsufficientCreditError' in failure.details


def test_free_text_error_splits_into_reason_and_advice():
    """A typed error's message: first sentence the reason, the rest the
    advice, which the notification leads with."""
    exc = RunFailedError('run-7', 'failed', 'OOM', 'out of memory')
    failure = describe_failure(exc)
    assert failure.reason == 'Run run-7 ended failed (OOM: out of memory)'
    assert failure.advice.startswith('Failed runs are not billed; try again')
    assert failure.notification.startswith('Failed runs are not billed')
    assert failure.status.startswith(
        'failed: Run run-7 ended failed (OOM: out of memory): failed runs'
    )


def test_validation_error_names_its_fields_in_the_advice():
    exc = ValidationError(
        422, errors=[{'loc': ['input', 'image'], 'msg': 'too large'}]
    )
    failure = describe_failure(exc)
    assert failure.advice.startswith('Fix these fields and run again:')
    assert 'input.image: too large' in failure.advice
    assert failure.reason == 'Runflow rejected the input (422)'


ERRORS = [
    InsufficientCreditError(402, api_message='No credit.'),
    AuthenticationError(401),
    ServiceUnavailableError(503, api_message='Down'),
    ValidationError(422, errors=['bad.']),
    APIConnectionError('Could not reach Runflow. Check the network.'),
    SubmissionUnknownError('ref-1', 'connection reset'),
    RunTimeoutError('run-2', 30.0),
    RunTimeoutError(None, 5.0),
    RunFailedError('run-3', 'failed'),
    FileNotFoundError(2, 'No such file or directory', '/no/ca.pem'),
    RuntimeError('boom.'),
    ValueError(),
]


@pytest.mark.parametrize('exc', ERRORS, ids=lambda e: type(e).__name__)
def test_no_doubled_stops_and_advice_comes_first(exc):
    """Every failure: advice, then reason; never '..' or ': .'."""
    failure = describe_failure(_raised(exc))
    for text in (failure.notification, failure.status):
        assert '..' not in text, text
        assert ' .' not in text, text
        assert not text.startswith(' ')
    assert failure.notification.startswith(sentence(failure.advice))
    assert failure.status.startswith(f'failed: {failure.reason}: ')
    assert not failure.reason.endswith('.')


def test_a_missing_ca_bundle_says_which_variable_to_fix(monkeypatch, tmp_path):
    """An unexpected FileNotFoundError (the CA file SSL_CERT_FILE names
    is gone) names the variable; the details hold the traceback."""
    missing = tmp_path / 'gone' / 'ca.pem'
    monkeypatch.setenv('SSL_CERT_FILE', str(missing))
    exc = _raised(FileNotFoundError(2, 'No such file or directory'))
    failure = describe_failure(exc)
    assert failure.advice.startswith('Fix or unset SSL_CERT_FILE')
    assert str(missing) in failure.advice
    assert failure.reason.startswith('unexpected FileNotFoundError')
    assert 'Traceback' in failure.details
    assert 'test_failures.py' in failure.details


def test_an_unexpected_bug_asks_for_a_report_with_the_details():
    failure = describe_failure(_raised(KeyError('plane')))
    assert 'Copy details' in failure.advice
    assert REPORT_URL in failure.advice
    assert failure.reason == "unexpected KeyError: 'plane'"
    assert "KeyError: 'plane'" in failure.details


def test_details_never_hold_the_api_key(monkeypatch):
    key = 'rf-secret-key-123456'
    monkeypatch.setenv('RUNFLOW_API_KEY', key)
    failure = describe_failure(_raised(RuntimeError(f'sent {key} badly')))
    assert key not in failure.details
    assert key not in failure.notification + failure.status


def test_message_names_another_action():
    """The same advice-first sentence for an action other than a run."""
    failure = describe_failure(_raised(OSError('disk full.')))
    text = failure.message('Outpaint could not re-open the result')
    assert text.startswith(sentence(failure.advice))
    assert text.endswith(
        'Outpaint could not re-open the result: unexpected OSError: disk full.'
    )
