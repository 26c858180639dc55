"""CancelToken: cooperative, thread-safe, honest about remote runs."""

import threading

import pytest

from napari_outpaint import CancelToken, OutpaintCancelled


def test_wait_returns_at_once_when_cancelled_from_another_thread():
    """A cancel ends a wait immediately instead of after the timeout."""
    token = CancelToken()
    started = threading.Event()

    def cancel_soon():
        started.wait(5)
        token.cancel()

    thread = threading.Thread(target=cancel_soon)
    thread.start()
    started.set()
    assert token.wait(30) is True
    thread.join(5)
    assert token.cancelled


def test_wait_times_out_when_not_cancelled():
    """Without a cancel, wait returns False after its timeout."""
    assert CancelToken().wait(0.01) is False


def test_raise_if_cancelled_mentions_billing_for_submitted_runs():
    """Cancelling after submission warns that the run may still bill."""
    token = CancelToken()
    token.raise_if_cancelled('r1')  # not cancelled: no error
    token.cancel()
    with pytest.raises(OutpaintCancelled, match='may still complete') as info:
        token.raise_if_cancelled('r1')
    assert info.value.run_id == 'r1'
