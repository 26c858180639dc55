"""Pytest plugin: the ``runflow_standin`` fixture.

Enable it in a ``conftest.py`` with::

    pytest_plugins = ['napari_outpaint.testing.pytest_plugin']
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from napari_outpaint.testing._standin import RunflowStandIn

__all__ = ['runflow_standin']


@pytest.fixture
def runflow_standin() -> Iterator[RunflowStandIn]:
    """A started Runflow stand-in (api key ``'test-key'``, tiny delays).

    Yields
    ------
    RunflowStandIn
        The running server; pass ``server.ca_path`` as ``verify=`` and
        ``server.base_url`` as the base URL. It is stopped afterwards.
    """
    with RunflowStandIn(
        api_key='test-key', processing_delay=0.05, queue_delay=0.0
    ) as server:
        yield server
