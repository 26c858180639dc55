"""Runflow's HTTP API: the client, no engine.

Configuration and the API key (:mod:`.config`, :mod:`.credentials`), one
HTTP session with retries, deadlines and typed errors (:mod:`.http`,
:mod:`.retry`, :mod:`.errors`), the API's records (:mod:`.models`), asset
uploads and downloads (:mod:`.transfers`), the routes of runs and
batches (:mod:`.client`), the poll budget (:mod:`.pacing`: when runs likely
end, one gate for all status reads), and a filter that keeps presigned
URLs out of httpx's log lines (:mod:`.redact_logs`). The engine that uses it is
:class:`napari_outpaint.engines.runflow.RunflowEngine`.
"""

from napari_outpaint._runflow.client import RunflowClient
from napari_outpaint._runflow.config import (
    DEFAULT_BASE_URL,
    VerifyTypes,
    resolve_api_key,
    resolve_base_url,
    ssl_verify,
)
from napari_outpaint._runflow.credentials import (
    ENV_VAR,
    api_key_problem,
    find_api_key,
    locate_api_key,
    save_api_key,
)
from napari_outpaint._runflow.models import Batch, BatchItem, Run, RunStatus
from napari_outpaint._runflow.pacing import PollPacer, RunDurations
from napari_outpaint._runflow.retry import (
    DEFAULT_POLL_SCHEDULE,
    Deadline,
    PollSchedule,
)
from napari_outpaint._runflow.transfers import LinkExpiredError

__all__ = [
    'DEFAULT_BASE_URL',
    'DEFAULT_POLL_SCHEDULE',
    'Batch',
    'BatchItem',
    'Deadline',
    'ENV_VAR',
    'LinkExpiredError',
    'PollPacer',
    'PollSchedule',
    'Run',
    'RunDurations',
    'RunStatus',
    'RunflowClient',
    'VerifyTypes',
    'api_key_problem',
    'find_api_key',
    'locate_api_key',
    'resolve_api_key',
    'resolve_base_url',
    'save_api_key',
    'ssl_verify',
]
