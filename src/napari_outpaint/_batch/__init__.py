"""Many planes: one nD result, bounded concurrency, a price asked first.

Which planes (:mod:`.selection`), the batch itself (:mod:`.outpaint`), its
shared state (:mod:`.state`: rate-limit gate, stop reason, heavy-work
slots), its price (:mod:`.price`), the assembled nD result and what it
reports (:mod:`.assembly`, :mod:`.result`), the result written into a
zarr store as planes arrive (:mod:`.store`), the batch's runs handed to
an engine that sends them together (:mod:`.grouping`: Runflow's batch
route), and the one dispatcher of "one plane or a batch"
(:mod:`.dispatch`) that ``outpaint_layer`` and the command line call.
"""

from napari_outpaint._batch.assembly import Assembly
from napari_outpaint._batch.dispatch import outpaint_source
from napari_outpaint._batch.outpaint import (
    CONCURRENCY_ENV,
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
)
from napari_outpaint._batch.price import confirm_batch_price
from napari_outpaint._batch.result import BatchProgress, BatchResult
from napari_outpaint._batch.selection import (
    Plane,
    plane_text,
    planes_along,
    select_planes,
)
from napari_outpaint._batch.store import StoreOutput

__all__ = [
    'Assembly',
    'BatchProgress',
    'BatchResult',
    'CONCURRENCY_ENV',
    'DEFAULT_CONCURRENCY',
    'MAX_CONCURRENCY',
    'Plane',
    'StoreOutput',
    'confirm_batch_price',
    'outpaint_source',
    'plane_text',
    'planes_along',
    'select_planes',
]
