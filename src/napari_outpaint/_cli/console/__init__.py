"""What the command shows: messages and results (:mod:`.streams`) and the
progress of runs and batches (:mod:`.progress`): a tqdm bar on a
terminal, one line per stage change anywhere else."""

from napari_outpaint._cli.console.progress import (
    BatchPrinter,
    ProgressPrinter,
    plane_name,
    stage_text,
)
from napari_outpaint._cli.console.streams import Console

__all__ = [
    'BatchPrinter',
    'Console',
    'ProgressPrinter',
    'plane_name',
    'stage_text',
]
