"""The OME-Zarr result store: layout, NGFF metadata, what counts as a
finished plane, and the outputs refused before any run."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import (
    ResultStore,
    is_result_store,
    ome_axes,
    read_store_attrs,
)
from napari_outpaint._io.zarr_store import MASK_PATH, STORE_KEY

IDENTITY = {'source.shape': [2, 8, 9], 'expand': {'top': 10}}


def _filled(path, n=2):
    store = ResultStore.open_for_batch(path, IDENTITY)
    store.create_arrays((n, 4, 5), np.uint16, n_lead=1, rgb=False)
    return store


def test_axes_take_types_and_ngff_units():
    """Leading t/c/z axes get their NGFF type, the last two are space,
    units become NGFF names and 'pixel' is left out."""
    axes = ome_axes(['t', 'z', 'y', 'x'], ['second', 'µm', 'µm', 'micrometer'])
    assert axes == [
        {'name': 't', 'type': 'time', 'unit': 'second'},
        {'name': 'z', 'type': 'space', 'unit': 'micrometer'},
        {'name': 'y', 'type': 'space', 'unit': 'micrometer'},
        {'name': 'x', 'type': 'space', 'unit': 'micrometer'},
    ]
    rgb = ome_axes(['plane', 'y', 'x'], ['pixel'] * 3, rgb=True)
    assert rgb[0] == {'name': 'plane'}
    assert rgb[-1] == {'name': 'rgb', 'type': 'channel'}


def test_new_store_is_an_ome_zarr_group_with_a_label_image(tmp_path):
    """Image '0', mask 'labels/generated/0' (uint8), one chunk per plane,
    and NGFF 0.5 multiscales with scale and translation on both."""
    path = tmp_path / 'r.zarr'
    store = _filled(path)
    axes = ome_axes(['t', 'y', 'x'], ['second', 'µm', 'µm'])
    store.write_placement(
        axes=axes, scale=[2.0, 0.5, 0.5], translate=[4.0, -1, -2], name='a'
    )
    group = zarr.open_group(str(path), mode='r')
    assert group['0'].chunks == (1, 4, 5)
    assert group[MASK_PATH].dtype == np.uint8
    ome = group.attrs['ome']
    assert ome['version'] == '0.5'
    (scales,) = ome['multiscales']
    assert scales['axes'] == axes
    steps = scales['datasets'][0]['coordinateTransformations']
    assert steps == [
        {'type': 'scale', 'scale': [2.0, 0.5, 0.5]},
        {'type': 'translation', 'translation': [4.0, -1.0, -2.0]},
    ]
    assert group['labels'].attrs['ome']['labels'] == ['generated']
    label = group['labels/generated'].attrs['ome']
    assert 'image-label' in label
    assert label['multiscales'][0]['axes'] == axes
    assert is_result_store(path)


def test_a_plane_is_done_only_after_its_data(tmp_path, monkeypatch):
    """planes_done lists a plane once its image and mask are written; a
    write that fails part-way leaves it out, in the store on disk too."""
    path = tmp_path / 'r.zarr'
    store = _filled(path)
    plane = np.full((4, 5), 7, np.uint16)
    mask = np.ones((4, 5), bool)
    store.write_plane((0,), plane, mask, (0,))
    assert read_store_attrs(path)['planes_done'] == [[0]]

    def broken(self, key, value):
        if key == (1,) and self.dtype == np.uint8:
            raise OSError('disk full')
        return original(self, key, value)

    original = zarr.Array.__setitem__
    monkeypatch.setattr(zarr.Array, '__setitem__', broken)
    with pytest.raises(OSError, match='disk full'):
        store.write_plane((1,), plane, mask, (1,))
    monkeypatch.undo()
    assert store.done() == {(0,)}
    reopened = ResultStore.open_for_batch(path, IDENTITY)
    assert reopened.done() == {(0,)}
    assert int(reopened.image()[0].max().compute()) == 7


def test_an_existing_path_that_is_not_our_store_is_refused(tmp_path):
    """A file, a plain folder and another zarr group are never written."""
    a_file = tmp_path / 'a.zarr'
    a_file.write_text('x')
    folder = tmp_path / 'b.zarr'
    folder.mkdir()
    other = tmp_path / 'c.zarr'
    zarr.open_group(str(other), mode='w').attrs['foo'] = 1
    for path in (a_file, folder, other):
        with pytest.raises(InvalidInputError, match='not a napari-outpaint'):
            ResultStore.open_for_batch(path, IDENTITY)
    assert a_file.read_text() == 'x'
    assert list(folder.iterdir()) == []
    assert STORE_KEY not in zarr.open_group(str(other), mode='r').attrs


def test_a_store_of_another_source_is_refused_naming_the_field(tmp_path):
    """Resuming into a store of another expansion names the field that
    differs, both values, and the fix."""
    path = tmp_path / 'r.zarr'
    _filled(path)
    other = {**IDENTITY, 'expand': {'top': 20}}
    with pytest.raises(InvalidInputError) as info:
        ResultStore.open_for_batch(path, other)
    message = str(info.value)
    assert message.startswith('output: ')
    assert 'another expansion' in message
    assert "{'top': 10} there, {'top': 20} now" in message
    assert 'give another output path, or delete' in message


def test_not_zarr_missing_folder_and_read_only_are_refused(
    tmp_path, read_only_dir
):
    with pytest.raises(InvalidInputError, match='not a .zarr path'):
        ResultStore.open_for_batch(tmp_path / 'r.tif', IDENTITY)
    with pytest.raises(InvalidInputError, match='does not exist'):
        ResultStore.open_for_batch(tmp_path / 'no' / 'r.zarr', IDENTITY)
    with pytest.raises(InvalidInputError, match='cannot write'):
        ResultStore.open_for_batch(read_only_dir / 'r.zarr', IDENTITY)
    assert not (read_only_dir / 'r.zarr').exists()


def test_a_new_store_is_written_only_on_its_first_write(tmp_path):
    """Opening a new store for a batch writes nothing (a batch refused or
    declined before its first plane leaves no folder behind)."""
    path = tmp_path / 'r.zarr'
    store = ResultStore.open_for_batch(path, IDENTITY)
    assert not path.exists()
    assert store.done() == set()
    assert not store.has_arrays
    store.update_record(style={'name': 'a'})
    assert read_store_attrs(path)['identity'] == IDENTITY
