"""A Runflow-compatible HTTPS stand-in server, to test scripts offline.

Needs ``trustme`` (``pip install 'napari-outpaint[testing]'``).

Examples
--------
>>> from napari_outpaint.testing import RunflowStandIn
>>> with RunflowStandIn(api_key='test-key') as server:  # doctest: +SKIP
...     run_my_script(base_url=server.base_url, verify=server.ca_path)
...     assert server.runs[0].status == 'succeeded'

For pytest, ``pytest_plugins = ['napari_outpaint.testing.pytest_plugin']``
provides the ``runflow_standin`` fixture.
"""

from napari_outpaint.testing._records import (
    RecordedAsset,
    RecordedBatch,
    RecordedRequest,
    RecordedRun,
)
from napari_outpaint.testing._standin import RunflowStandIn

__all__ = [
    'RecordedAsset',
    'RecordedBatch',
    'RecordedRequest',
    'RecordedRun',
    'RunflowStandIn',
]
