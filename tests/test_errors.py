"""The error hierarchy: actionable messages, no secrets."""

import pytest

from napari_outpaint import _errors as errors


@pytest.mark.parametrize(
    ('cls', 'words'),
    [
        (errors.AuthenticationError, 'RUNFLOW_API_KEY'),
        (errors.InsufficientCreditError, 'Top up'),
        (errors.PermissionDeniedError, 'scopes'),
        (errors.RateLimitError, 'try again'),
        (errors.ServiceUnavailableError, 'try again'),
    ],
)
def test_status_errors_say_what_to_do(cls, words):
    """Every status error carries a hint with the next step."""
    err = cls(400, code='X', api_message='boom', run_id='r1')
    text = str(err)
    assert 'boom' in text
    assert 'r1' in text
    assert words in text
    assert isinstance(err, errors.APIStatusError)


def test_validation_error_lists_fields():
    """422 details name the offending fields."""
    err = errors.ValidationError(
        422,
        code='VALIDATION_ERROR',
        errors=[{'loc': ['body', 'input', 'expand_top'], 'msg': 'too big'}],
    )
    assert 'body.input.expand_top: too big' in str(err)


def test_timeout_names_the_run_and_how_to_collect_it():
    """A timeout names the run id so the paid result can be collected."""
    err = errors.RunTimeoutError('run-42', 600)
    assert 'run-42' in str(err)
    assert 'collect run-42' in str(err)
    assert isinstance(err, TimeoutError)


def test_run_failed_carries_failure_fields():
    """A failed run keeps its failure code and message."""
    err = errors.RunFailedError('r9', 'failed', 'OOM', 'out of memory')
    assert (err.failure_code, err.failure_message) == ('OOM', 'out of memory')
    assert 'OOM: out of memory' in str(err)
