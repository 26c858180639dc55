"""The Runflow run object, read defensively from its JSON.

Sources disagree on field names (``status_code`` vs ``status``,
``failure_message`` vs ``error.message``, ``output.outputs[0].url`` vs
``image_urls``...; see ``runflow-api.md``), so every reader here accepts
the documented name first and then the known alternatives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    'TERMINAL_STATUSES',
    'AssetUpload',
    'Batch',
    'BatchItem',
    'Run',
    'RunStatus',
]


class RunStatus(StrEnum):
    """Every ``status_code`` a Runflow run is known to take."""

    QUEUED = 'queued'
    DISPATCHING = 'dispatching'
    RUNNING = 'running'
    SUCCEEDED = 'succeeded'
    PARTIAL_SUCCEEDED = 'partial_succeeded'
    FAILED = 'failed'
    CANCELED = 'canceled'
    CANCELLED = 'cancelled'  # older docs' spelling
    ERRORED = 'errored'  # seen in Runflow's own templates


TERMINAL_STATUSES = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.PARTIAL_SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELED,
        RunStatus.CANCELLED,
        RunStatus.ERRORED,
    }
)


@dataclass(frozen=True)
class Run:
    """One Runflow run, as last seen.

    Attributes
    ----------
    id : str
    status : str
        The run's ``status_code``, lower case (unknown values kept).
    output : Mapping or None
    cost : str or None
        USD as a decimal string, when reported.
    client_ref : str or None
    body : Mapping
        The whole JSON object, for anything else.
    """

    id: str
    status: str
    output: Mapping[str, Any] | None = None
    cost: str | None = None
    client_ref: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: object) -> Run:
        """Read a run object; ``ValueError`` if it is not one."""
        if not isinstance(data, Mapping):
            raise ValueError('a run must be a JSON object')
        run_id = data.get('id') or data.get('run_id')
        if not isinstance(run_id, str) or not run_id:
            raise ValueError('the run object has no id')
        status = data.get('status_code') or data.get('status') or ''
        output = data.get('output')
        cost = data.get('cost')
        ref = data.get('client_ref')
        return cls(
            id=run_id,
            status=str(status).strip().lower(),
            output=output if isinstance(output, Mapping) else None,
            cost=None if cost is None else str(cost),
            client_ref=ref if isinstance(ref, str) else None,
            body=data,
        )

    @property
    def is_terminal(self) -> bool:
        """Whether the run will not change any more."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """Succeeded, or partially succeeded with an output to download.

        ``partial_succeeded`` means some outputs landed; outpaint has one
        output, so it counts as success exactly when that output exists.
        """
        if self.status == RunStatus.SUCCEEDED:
            return True
        return (
            self.status == RunStatus.PARTIAL_SUCCEEDED
            and self.output_url is not None
        )

    @property
    def service_seconds(self) -> float | None:
        """Seconds from ``created_at`` to ``completed_at``, by the service.

        ``finished_at`` (the JS SDK's name) stands in for ``completed_at``;
        None unless both are ISO 8601 times, in order, with a time zone.
        """
        created = _moment(self.body.get('created_at'))
        completed = _moment(
            self.body.get('completed_at') or self.body.get('finished_at')
        )
        if created is None or completed is None or completed < created:
            return None
        return (completed - created).total_seconds()

    @property
    def output_url(self) -> str | None:
        """The result image URL, or None.

        ``output.outputs[0].url`` first, then ``image_urls[0]``,
        ``images[0].url``, ``image.url``, ``url`` and ``output_url`` (the
        shapes Runflow's JS SDK tolerates), in ``output`` and then on the
        run itself.
        """
        for holder in (self.output, self.body):
            if holder:
                url = _first_url(holder)
                if url:
                    return url
        return None

    @property
    def seed(self) -> int | None:
        """``output.seed`` when it is an integer."""
        seed = (self.output or {}).get('seed')
        if isinstance(seed, bool) or not isinstance(seed, int | float):
            return None
        return int(seed)

    @property
    def nsfw_detected(self) -> bool | None:
        """The provider's NSFW flag, when surfaced."""
        flag = (self.output or {}).get('nsfw_detected')
        return flag if isinstance(flag, bool) else None

    def cost_usd(self, default: float) -> float:
        """``cost`` as a float, or *default* when absent or unparsable."""
        try:
            value = float(self.cost) if self.cost is not None else None
        except ValueError:
            value = None
        return default if value is None or value < 0 else value

    @property
    def failure_code(self) -> str | None:
        """``failure_code``, else ``error.code``."""
        return _text(self.body.get('failure_code')) or _text(
            _mapping(self.body.get('error')).get('code')
        )

    @property
    def failure_message(self) -> str | None:
        """``failure_message``, else ``error.message`` (or ``error``)."""
        error = self.body.get('error')
        fallback = (
            _mapping(error).get('message')
            if isinstance(error, Mapping)
            else error
        )
        return (
            _text(self.body.get('failure_message'))
            or _text(fallback)
            or _text(self.body.get('failure_reason'))
        )


@dataclass(frozen=True)
class BatchItem:
    """One item of a Runflow batch: a normal run, as the batch reports it.

    Attributes
    ----------
    run_id : str or None
        The item's run (``GET /v1/runs/{run_id}`` reads it in full).
    status : str
        The item's ``status_code``, lower case.
    sequence_index : int or None
        Its place in the create's ``input`` array.
    client_ref : str or None
    body : Mapping
        The whole JSON object (``/items`` adds the outputs).
    """

    run_id: str | None
    status: str
    sequence_index: int | None = None
    client_ref: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: object) -> BatchItem:
        """Read an item; ``ValueError`` if it is not an object."""
        if not isinstance(data, Mapping):
            raise ValueError('a batch item must be a JSON object')
        run_id = data.get('run_id')
        index = data.get('sequence_index')
        ref = data.get('client_ref')
        status = data.get('status_code') or data.get('status') or ''
        return cls(
            run_id=run_id if isinstance(run_id, str) and run_id else None,
            status=str(status).strip().lower(),
            sequence_index=(
                index
                if isinstance(index, int) and not isinstance(index, bool)
                else None
            ),
            client_ref=ref if isinstance(ref, str) else None,
            body=data,
        )

    @property
    def is_terminal(self) -> bool:
        """Whether the item's run will not change any more."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class Batch:
    """One Runflow batch (``POST /v1/models/{model}/batches``), as last seen.

    Attributes
    ----------
    id : str
    status : str
        The batch's ``status_code`` (``partial_succeeded`` when some
        items failed).
    items : tuple of BatchItem
        As listed (the batch guide's create answer lists none).
    items_total : int or None
    body : Mapping
        The whole JSON object.
    """

    id: str
    status: str
    items: tuple[BatchItem, ...] = ()
    items_total: int | None = None
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: object) -> Batch:
        """Read a batch object; ``ValueError`` if it is not one."""
        if not isinstance(data, Mapping):
            raise ValueError('a batch must be a JSON object')
        batch_id = data.get('id') or data.get('batch_id')
        if not isinstance(batch_id, str) or not batch_id:
            raise ValueError('the batch object has no id')
        items = data.get('items')
        total = data.get('items_total')
        status = data.get('status_code') or data.get('status') or ''
        return cls(
            id=batch_id,
            status=str(status).strip().lower(),
            items=tuple(
                BatchItem.from_json(item)
                for item in (items if isinstance(items, list) else ())
            ),
            items_total=(
                total
                if isinstance(total, int) and not isinstance(total, bool)
                else None
            ),
            body=data,
        )

    @property
    def is_terminal(self) -> bool:
        """Whether every item is over (the batch will not change)."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class AssetUpload:
    """A presigned upload session: where to ``PUT`` the bytes.

    ``upload_url`` carries credentials in its query string: never log it
    without :func:`~napari_outpaint._secrets.redact_url`.
    """

    asset_id: str
    upload_url: str = field(repr=False)

    @classmethod
    def from_json(cls, data: object) -> AssetUpload:
        """Read ``{"asset_id", "upload_url"}``; ``ValueError`` if absent."""
        data = _mapping(data)
        asset_id = data.get('asset_id') or data.get('id')
        url = data.get('upload_url') or data.get('url')
        if not isinstance(asset_id, str) or not isinstance(url, str):
            raise ValueError('the upload session has no asset_id/upload_url')
        return cls(asset_id=asset_id, upload_url=url)


def _first_url(holder: Mapping[str, Any]) -> str | None:
    outputs = holder.get('outputs')
    if isinstance(outputs, list) and outputs:
        url = _mapping(outputs[0]).get('url')
        if isinstance(url, str) and url:
            return url
    image_urls = holder.get('image_urls')
    if (
        isinstance(image_urls, list)
        and image_urls
        and isinstance(image_urls[0], str)
        and image_urls[0]
    ):
        return image_urls[0]
    images = holder.get('images')
    if isinstance(images, list) and images:
        url = _mapping(images[0]).get('url')
        if isinstance(url, str) and url:
            return url
    url = _mapping(holder.get('image')).get('url')
    if isinstance(url, str) and url:
        return url
    for key in ('url', 'output_url'):
        url = holder.get(key)
        if isinstance(url, str) and url:
            return url
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _moment(value: object) -> datetime | None:
    """An aware datetime from an ISO 8601 string, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
