"""The words the widget shows while a run goes on."""

from __future__ import annotations

from napari_outpaint._batch import BatchProgress
from napari_outpaint._progress import ProgressEvent, Stage
from napari_outpaint._qt.progress_text import (
    axis_names,
    batch_status,
    plane_text,
    run_status,
)

RUN_ID = '3f2b8c1e-9a4d-4e6f-8b2a-1c0d9e8f7a6b'


def test_axis_names_use_real_labels_else_the_index():
    """napari's default labels ('-3', '0') name nothing: the index does."""
    assert axis_names(('t', 'z', 'y', 'x'), 2) == ('t', 'z')
    assert axis_names(('-3', '-2', '-1'), 1) == ('axis 0',)
    assert axis_names(('0', 'c', 'y', 'x'), 2) == ('axis 0', 'c')
    assert axis_names((), 1) == ('axis 0',)
    assert axis_names(('axis -4', 'axis -3'), 2) == ('axis 0', 'axis 1')


def test_batch_status_names_the_plane_and_counts_without_tuples():
    plane_event = ProgressEvent(Stage.RUNNING, f'Run {RUN_ID} queued.')
    report = BatchProgress((3,), plane_event, 4, 0, 6, 0.7, 'queued')
    text = batch_status(report, ('z',))
    assert text == 'plane z=3 (4 of 6)'
    failed = BatchProgress((1, 2), None, 3, 1, 6, 0.7, 'plane (1, 2): x')
    assert (
        batch_status(failed, ('t', 'z')) == 'plane t=1, z=2 (3 of 6, 1 failed)'
    )
    whole = BatchProgress(None, None, 0, 0, 6, 0.0, 'Starting 6 planes')
    assert batch_status(whole, ('z',)) == '0 of 6 planes'
    assert plane_text((5,), ('axis 0',)) == 'plane axis 0=5'


def test_run_status_drops_run_ids_and_the_final_stop():
    """Run ids (UUIDs) stay out of the dock; a bare stage stays."""
    event = ProgressEvent(Stage.QUEUED, f'Run {RUN_ID} queued.', 0.1, RUN_ID)
    assert run_status(event) == 'Run queued'
    unnamed = ProgressEvent(Stage.DOWNLOADING, f'Collecting run {RUN_ID}.')
    assert run_status(unnamed) == 'Collecting run'
    assert run_status(ProgressEvent(Stage.FINISHING)) == 'finishing'
    upload = ProgressEvent(Stage.PUBLISHING, 'Uploading the input image.')
    assert run_status(upload) == 'Uploading the input image'
