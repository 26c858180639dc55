"""Pytest plugin: the ``runflow_standin`` fixture.

Enable it in a ``conftest.py`` with::

    pytest_plugins = ['napari_outpaint.testing.pytest_plugin']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from napari_outpaint.testing import RunflowStandIn

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
    from napari_outpaint.testing import RunflowStandIn

    with RunflowStandIn(
        api_key='test-key', processing_delay=0.05, queue_delay=0.0
    ) as server:
        yield server
