"""Inputs of the command line: files, folders, samples, planes, outputs."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from napari_outpaint import _sample_data
from napari_outpaint._canvas import Canvas, CanvasPlan, plan_canvas
from napari_outpaint._cli.channels import channel_groups, channel_selection
from napari_outpaint._cli.console import Console
from napari_outpaint._cli.overwrite import (
    check_outputs,
    check_zarr_output,
    is_zarr_path,
)
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import stack_contrast_limits
from napari_outpaint._io import (
    PNG_SUFFIXES,
    TIFF_SUFFIXES,
    ImageFile,
    channel_axis_of,
    check_writable,
    mask_path_for,
    read_image,
    sidecar_path_for,
)
from napari_outpaint._pipeline import (
    check_plane_fits,
    max_passes_setting,
    max_pixels_setting,
)

SAMPLE_PREFIX = 'sample:'


@dataclasses.dataclass(frozen=True)
class Job:
    """One input file and where its result goes.

    In a batch of several files only one file's pixels are held at a
    time: ``image.data`` is then a zero-memory stand-in with the right
    shape and dtype, and :meth:`pixels` reads the file again.
    """

    image: ImageFile
    output: Path
    plane: tuple[int, ...] | None  # the one plane (None: a 2D image)
    planes: tuple[tuple[int, ...], ...] | None  # --plane all: a batch
    contrast_limits: tuple[float, float] | None
    spec: str = ''
    deferred: bool = False
    plan: CanvasPlan | None = None  # the Runflow passes for its planes
    # the axis of image.data whose channels are outpainted together
    channel_axis: int | None = None

    @property
    def mask_path(self) -> Path:
        """Where the mask of generated pixels goes: ``out.mask.tif``."""
        return mask_path_for(self.output)

    @property
    def sidecar_path(self) -> Path:
        """Where the sidecar JSON goes: ``out.tif.json``."""
        return sidecar_path_for(self.output)

    def written_paths(self, *, mask: bool) -> list[Path]:
        """Every file the job writes (the mask only when *mask*)."""
        paths = [self.output, self.sidecar_path]
        return [*paths, self.mask_path] if mask else paths

    @property
    def runs(self) -> int:
        """How many runs the job needs (per plane, one per pass)."""
        planes = len(self.planes) if self.planes is not None else 1
        return (
            planes
            * self.passes
            * channel_groups(self.image, self.channel_axis)
        )

    @property
    def passes(self) -> int:
        """Runflow passes per plane (1 for a plain percent expand)."""
        return len(self.plan.passes) if self.plan is not None else 1

    def pixels(self) -> np.ndarray:
        """The input's pixels (read again when they were not kept)."""
        if not self.deferred:
            return self.image.data
        data = load_input(self.spec).data
        if data.shape != self.image.data.shape or (
            data.dtype != self.image.data.dtype
        ):
            raise InvalidInputError(
                'input',
                f'{self.spec} changed while the batch ran; run it again.',
            )
        return data


def load_input(spec: str, *, max_pixels: int | None = None) -> ImageFile:
    """Read an image file, or make a ``sample:NAME`` image."""
    if spec.startswith(SAMPLE_PREFIX):
        return _load_sample(spec[len(SAMPLE_PREFIX) :])
    return read_image(spec, max_pixels=max_pixels)


def _load_sample(name: str) -> ImageFile:

    makers = {
        'cells': _sample_data.make_cells_sample,
        'coffee': _sample_data.make_coffee_sample,
    }
    if name not in makers:
        raise InvalidInputError(
            'input',
            f'unknown sample {name!r}; use sample:cells or sample:coffee.',
        )
    data, kwargs, _ = makers[name]()[0]
    data = np.asarray(data)
    rgb = bool(kwargs.get('rgb', False))
    layer_ndim = data.ndim - (1 if rgb else 0)
    return ImageFile(
        data=data,
        rgb=rgb,
        axes='YXS' if rgb else 'YX',
        scale=(1.0,) * layer_ndim,
        unit=None,
        family='sample',
        source=f'{SAMPLE_PREFIX}{name}',
        name=name,
    )


def _expand_inputs(specs: Sequence[str]) -> tuple[list[str], list[Path]]:
    """Folders become their image files, sorted; the rest stays.

    Returns the inputs and the files of the folders that were skipped
    because napari-outpaint wrote them (results and masks: their
    sidecar says so), so that running a folder into itself twice never
    pays for outpainting its own outputs.
    """
    found: list[str] = []
    skipped: list[Path] = []
    suffixes = (*TIFF_SUFFIXES, *PNG_SUFFIXES, '.jpg', '.jpeg')
    for spec in specs:
        path = Path(spec)
        if not spec.startswith(SAMPLE_PREFIX) and path.is_dir():
            ours = written_by_us(path)
            files = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in suffixes
            )
            skipped.extend(p for p in files if p.name in ours)
            files = [p for p in files if p.name not in ours]
            if not files:
                raise InvalidInputError(
                    'input',
                    f'the folder {path} holds no .tif/.png/.jpg image'
                    + (
                        f' other than {len(skipped)} file(s) napari-outpaint '
                        'wrote'
                        if skipped
                        else ''
                    )
                    + '.',
                )
            found.extend(str(p) for p in files)
        else:
            found.append(spec)
    return found, skipped


def written_by_us(folder: Path) -> set[str]:
    """Names of the files in *folder* that napari-outpaint wrote.

    A result ``out.tif`` has the sidecar ``out.tif.json`` (with a
    ``napari_outpaint`` version, or the ``cache_key`` of an export); the
    sidecar also names its mask.
    """
    names: set[str] = set()
    for sidecar in folder.glob('*.json'):
        try:
            body = json.loads(sidecar.read_text('utf-8'))
        except (OSError, ValueError):
            continue
        if not isinstance(body, dict) or not (
            'napari_outpaint' in body or 'cache_key' in body
        ):
            continue
        names.add(sidecar.name[: -len('.json')])
        mask = (body.get('output') or {}).get('mask')
        if isinstance(mask, str) and mask:
            names.add(Path(mask).name)
    return names


def _output_for(image: ImageFile, output: Path, batch: bool) -> Path:
    """Where the result of *image* goes."""
    if not batch and (not output.is_dir() or is_zarr_path(output)):
        return output  # a .zarr folder is a store, not a folder of files
    if batch and output.exists() and not output.is_dir():
        raise InvalidInputError(
            '--output',
            f'{output} is a file, but several inputs need a folder; pass '
            'a folder (it is created if missing).',
        )
    family = image.family
    if family == 'tiff':
        suffix = Path(image.source).suffix or '.tif'
    elif family == 'png':
        suffix = '.png'
    elif family == 'jpeg':
        suffix = '.png'  # JPEG is lossy: never written
    else:  # a sample
        suffix = '.tif'
    return output / f'{image.name}.outpainted{suffix}'


def _selection(
    image: ImageFile, plane: str | tuple[int, ...] | None
) -> tuple[tuple[int, ...] | None, tuple[tuple[int, ...], ...] | None]:
    """``(plane, planes)``: the one plane, or the planes of a batch."""
    lead = image.data.shape[: image.plane_axes]
    if not lead:
        if plane is not None:
            raise InvalidInputError(
                '--plane',
                f'{image.source} is a 2D image; drop --plane.',
            )
        return None, None
    if plane is None:
        if all(n == 1 for n in lead):
            return (0,) * len(lead), None
        raise InvalidInputError(
            '--plane',
            f'{image.source} is a stack of shape {image.data.shape} (axes '
            f'{image.axes}); name a plane, e.g. --plane '
            f'{",".join("0" * len(lead))}, or use --plane all.',
        )
    if plane == 'all':
        _refuse_channel_planes(image, lead)
        every = tuple(np.ndindex(*lead))
        return (every[0], None) if len(every) == 1 else (None, every)
    if len(plane) != len(lead) or any(
        i >= n for i, n in zip(plane, lead, strict=False)
    ):
        raise InvalidInputError(
            '--plane',
            f'{",".join(map(str, plane))} does not name a plane of '
            f'{image.source}: it needs {len(lead)} index(es) within '
            f'{tuple(lead)} (axes {image.axes[: len(lead)]}).',
        )
    return tuple(plane), None


def _refuse_channel_planes(image: ImageFile, lead: tuple[int, ...]) -> None:
    """A channel axis is never a plane axis of ``--plane all``.

    Outpainting each channel on its own invents different structure in
    each (and pays once per channel); refused before any run.
    """
    for letter, size in zip(image.axes, lead, strict=False):
        if letter in 'CS' and size > 1:
            example = ','.join(
                '0' if a != letter else '1' for a in image.axes[: len(lead)]
            )
            raise InvalidInputError(
                '--plane',
                f'{image.source} has {size} channels on axis {letter} (axes '
                f'{image.axes}); --plane all would outpaint each channel on '
                'its own, so the channels would no longer agree. '
                'Outpainting channels together is not supported yet: pick '
                f'one channel with --plane (e.g. --plane {example}).',
            )


def _contrast_limits(
    image: ImageFile, given: tuple[float, float] | None
) -> tuple[float, float] | None:
    if image.rgb:
        if given is not None:
            raise InvalidInputError(
                '--contrast-limits',
                f'{image.source} is RGB; contrast limits only apply to '
                'greyscale images. Drop --contrast-limits.',
            )
        return None
    if given is not None:
        return given
    data = image.data
    if data.dtype.kind == 'f' and not np.isfinite(data).any():
        raise InvalidInputError(
            'input',
            f'{image.source} has no finite values to outpaint.',
        )
    # one window for every plane, as a batch of the planes would use
    return stack_contrast_limits(data, rgb=False)


def _plan(image: ImageFile, wish: Expand | Canvas) -> CanvasPlan:
    """The passes for one plane of *image*; world units need its pixel
    size."""
    rows, cols = image.data.shape[image.plane_axes : image.plane_axes + 2]
    if (
        isinstance(wish, Canvas)
        and wish.measure == 'world'
        and image.unit is None
    ):
        raise InvalidInputError(
            '--top-world/--bottom-world/--left-world/--right-world',
            f'{image.source} records no pixel size, so world units mean '
            'nothing here; give pixels instead (--left-px ...).',
        )
    return plan_canvas(
        wish,
        rows,
        cols,
        scale=image.scale[-2:],
        max_passes=max_passes_setting(),
    )


def prepare_jobs(
    args: argparse.Namespace,
    expand: Expand | Canvas,
    console: Console,
    stdin: TextIO,
) -> list[Job]:
    """Read and check every input and its output before any run.

    Files napari-outpaint wrote are skipped when a folder is expanded
    (said on *console*); no output may replace an input, and an existing
    output is replaced only with ``--overwrite`` or a yes on a terminal
    (see :mod:`napari_outpaint._cli.overwrite`).
    """
    specs, skipped = _expand_inputs(args.inputs)
    if skipped:
        console.say(
            f'skipped {len(skipped)} file(s) napari-outpaint wrote (their '
            f'sidecar says so): {", ".join(p.name for p in skipped[:3])}'
            + (' ...' if len(skipped) > 3 else '')
        )
    batch = len(specs) > 1
    output = Path(args.output)
    if batch and is_zarr_path(output):
        raise InvalidInputError(
            '--output',
            f'{output} is a zarr store, which holds the result of one '
            'input; give a folder for several inputs.',
        )
    if batch:
        output.mkdir(parents=True, exist_ok=True)
    jobs = []
    outputs: set[Path] = set()
    max_pixels = max_pixels_setting(args.max_pixels)
    for spec in specs:
        image = load_input(spec, max_pixels=max_pixels)
        target = _output_for(image, output, batch)
        if target.resolve() in outputs:
            raise InvalidInputError(
                '--output',
                f'two inputs would both be written to {target}; rename one '
                'or run them separately.',
            )
        outputs.add(target.resolve())
        channel_axis = channel_axis_of(image)
        chosen = channel_selection(image, channel_axis, args.plane)
        if chosen is None:
            channel_axis = None
            plane, planes = _selection(image, args.plane)
        else:
            plane, planes = chosen
            if args.native_resolution:
                raise InvalidInputError(
                    '--native-resolution',
                    f'{image.source} has channels on axis '
                    f'{image.axes[channel_axis]}, outpainted together on '
                    'the original grid; drop --native-resolution.',
                )
        spatial = 2 + (
            sum(1 for n in image.data.shape[: image.plane_axes] if n > 1)
            if planes is not None
            else 0
        )
        if chosen is not None and planes is None:
            spatial += 1  # the channel axis is kept
        if is_zarr_path(target):
            check_zarr_output(
                target,
                image,
                planes,
                n_inputs=len(specs),
                channels=chosen is not None,
            )
        else:
            check_writable(
                target, dtype=image.data.dtype, rgb=image.rgb, ndim=spatial
            )
        plan = _plan(image, expand)
        for step in plan.passes:
            check_plane_fits(
                (step.height, step.width),
                step.expand,
                dtype=image.data.dtype,
                channels=image.data.shape[-1] if image.rgb else 1,
                max_pixels=max_pixels,
                field='--max-pixels',
            )
        limits = (
            args.contrast_limits  # None: each channel's own range
            if chosen is not None
            else _contrast_limits(image, args.contrast_limits)
        )
        if batch:  # keep only shape and dtype until its turn
            placeholder = np.broadcast_to(
                np.zeros((), image.data.dtype), image.data.shape
            )
            image = dataclasses.replace(image, data=placeholder)
        jobs.append(
            Job(
                image=image,
                output=target,
                plane=plane,
                planes=planes,
                contrast_limits=limits,
                spec=spec,
                deferred=batch,
                plan=plan,
                channel_axis=channel_axis,
            )
        )
    check_outputs(  # a zarr store is resumed, not replaced
        [
            p
            for job in jobs
            if not is_zarr_path(job.output)
            for p in job.written_paths(mask=not args.no_mask)
        ],
        [job.spec for job in jobs if not job.spec.startswith(SAMPLE_PREFIX)],
        overwrite=args.overwrite,
        console=console,
        stdin=stdin,
    )
    return jobs


# ----------------------------------------------------------------- engine
