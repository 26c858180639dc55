"""The main command: outpaint each input file and write its outputs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any, TextIO

from napari_outpaint._batch import BatchResult, outpaint_source
from napari_outpaint._cache import (
    ResultCache,
    SpendCap,
    price_of,
    session_spend_cap,
)
from napari_outpaint._canvas import Canvas
from napari_outpaint._cli.args import build_parser, wish_from_args
from napari_outpaint._cli.channels import outpaint_channels_job
from napari_outpaint._cli.console import (
    BatchPrinter,
    Console,
    ProgressPrinter,
)
from napari_outpaint._cli.engine import (
    choose_engine,
    confirm_cost,
    release_engine,
)
from napari_outpaint._cli.exit_codes import (
    EXIT_OK,
    EXIT_RUN_ERROR,
    batch_exit_code,
    exit_code,
    with_flag,
)
from napari_outpaint._cli.inputs import Job, prepare_jobs
from napari_outpaint._cli.outputs import write_outputs
from napari_outpaint._cli.overwrite import is_zarr_path, store_output_for
from napari_outpaint._cli.submitted import SubmittedRuns
from napari_outpaint._cli.worker import Interrupted, run_cancellable
from napari_outpaint._errors import (
    STOP_ALL_RUNS,
    OutpaintError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._pipeline import (
    GENERATED_BITS,
    OutpaintResult,
    prepare_source,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._settings import ENVIRONMENT, SPEND_CAP, resolve
from napari_outpaint.engines import Engine


def spend_cap_of(args: argparse.Namespace) -> SpendCap:
    """``--spend-cap`` for this invocation, else the session's cap.

    The session cap reads ``NAPARI_OUTPAINT_SPEND_CAP_USD``, else the
    settings file's ``spend_cap_usd`` (off when neither sets it); an
    invalid value is a ``ConfigurationError`` (exit 3).
    """
    if args.spend_cap is not None:
        return SpendCap(args.spend_cap)
    return session_spend_cap()


def _cap_source() -> str:
    """Where the session cap comes from: 'env', or the settings file."""
    found = resolve(SPEND_CAP)
    return 'env' if found.source == ENVIRONMENT else found.describe()


def _outpaint_job(
    job: Job,
    engine: Engine,
    expand: Expand | Canvas,
    args: argparse.Namespace,
    printer: ProgressPrinter | BatchPrinter,
    cancel: CancelToken,
    cap: SpendCap,
    submitted: SubmittedRuns,
) -> OutpaintResult | BatchResult:
    """One job through the dispatcher ``outpaint_layer`` uses too: its
    plane, or its planes (``--plane all``) into one nD result, reported
    to *printer*. Every paid run is reserved against *cap* before
    anything is sent."""
    image = job.image
    progress = (
        submitted.watch(printer)
        if isinstance(printer, ProgressPrinter)
        else None
    )
    batch_progress = (
        submitted.watch_batch(printer)
        if isinstance(printer, BatchPrinter)
        else None
    )
    if job.channel_axis is not None:
        return outpaint_channels_job(
            job,
            engine,
            expand,
            args,
            progress=progress,
            batch_progress=batch_progress,
            cancel=cancel,
            cap=cap,
        )
    source = prepare_source(
        job.pixels(),
        rgb=image.rgb,
        contrast_limits=job.contrast_limits,
        scale=image.scale,
        name=image.name,
        max_pixels=args.max_pixels,
    )
    return outpaint_source(
        source,
        expand,
        plane=job.plane,
        planes=job.planes,
        engine=engine,
        keep_native_resolution=args.native_resolution,
        progress=progress,
        batch_progress=batch_progress,
        cancel=cancel,
        confirm=True,  # the price was shown and confirmed up front
        concurrency=args.concurrency,
        spend_cap=cap,
        output=store_output_for(image, job.output),
    )


def _printer(
    job: Job, console: Console, label: str
) -> ProgressPrinter | BatchPrinter:
    """The job's progress: one run, or a batch over its planes."""
    if job.planes is None:
        return ProgressPrinter(console, label)
    axes = job.image.axes[: job.image.plane_axes]
    if job.channel_axis is not None:  # the planes of the other axes
        axes = axes.replace(job.image.axes[job.channel_axis], '')
    return BatchPrinter(console, label, job.planes, axes)


def _finish_job(
    job: Job,
    result: Any,
    expand: Expand | Canvas,
    args: argparse.Namespace,
    console: Console,
    label: str,
    started: float,
) -> int:
    """Write what a job produced, report it; return its exit code."""
    outcomes = getattr(result, 'outcomes', None)
    if result is None or getattr(result, 'data', None) is None:
        if outcomes is not None:
            console.say(f'{label}: {result.summary()}')
        console.error(f'{label}: no plane finished; nothing was written.')
        return batch_exit_code(result)
    try:
        written = write_outputs(job, result, expand, args)
    except Exception as exc:  # noqa: BLE001 - the result must not be lost
        console.error(f'{label}: {_not_written(job, result, exc)}')
        return EXIT_RUN_ERROR
    for path in written:
        console.result(str(path))
    seconds = time.monotonic() - started
    if outcomes is not None:
        console.say(f'{label}: {result.summary()}')
        if not result.complete:
            again = (
                'Run the same command again to finish: the planes in '
                f'{job.output} are not sent again'
                if is_zarr_path(job.output)
                else 'Run the same command again with --overwrite to '
                'finish: finished planes come from the cache at no cost'
            )
            console.error(
                f'{label}: partial result written ({len(result.finished)} '
                f'of {len(outcomes)} planes; unfinished planes are 0). '
                f'{again}.'
            )
            return batch_exit_code(result)
    for message in getattr(result, 'warnings', ()) or ():
        console.say(f'{label}: warning: {message}')
    seam = (result.provenance or {}).get('seam_score')
    note = f', seam score {seam:.2f}' if isinstance(seam, float) else ''
    dtype = job.image.data.dtype
    bits = (result.provenance or {}).get('generated_bits')
    if bits == GENERATED_BITS and (dtype.kind == 'f' or dtype.itemsize > 1):
        note += (
            f'; the border was generated at {GENERATED_BITS} bits and '
            f'mapped back to {dtype} through the contrast limits'
        )
    console.say(f'{label}: done in {seconds:.1f} s{note}')
    return EXIT_OK


def _not_written(job: Job, result: Any, exc: BaseException) -> str:
    """What is known when the outputs could not be written after a run."""
    reason = f'{type(exc).__name__}: {exc}'
    prov = getattr(result, 'provenance', None) or {}
    outcomes = (prov.get('batch') or {}).get('outcomes') or [prov]
    runs = list(
        dict.fromkeys(o['run_id'] for o in outcomes if o.get('run_id'))
    )
    text = f'writing {job.output} failed ({reason}); nothing was written.'
    if not runs:
        return f'{text} Fix it and run the same command again.'
    listed = ', '.join(runs[:5]) + (' ...' if len(runs) > 5 else '')
    return (
        f'{text} The paid result is kept in the paid-result cache (run '
        f'{listed}): fix it and run the same command again (answered from '
        'the cache, free), or export it with `napari-outpaint history '
        '--export KEY -o FILE` (keys: `napari-outpaint history`).'
    )


def outpaint_command(
    argv: Sequence[str], console: Console, stdin: TextIO
) -> int:
    """Parse *argv*, check everything, then outpaint job by job."""
    parser = build_parser()
    parser.out = console.out
    args = parser.parse_args(argv)
    console.quiet = args.quiet
    expand = wish_from_args(args)
    jobs = prepare_jobs(args, expand, console, stdin)
    engine = choose_engine(args, console)
    if price_of(engine) > 0:
        ResultCache().check_writable()  # a paid result must have a home
    cap = spend_cap_of(args)
    passes = {job.passes for job in jobs}
    planes = sum(job.runs // job.passes for job in jobs)
    if len(passes) == 1:  # the same passes for every plane: say so
        confirm_cost(engine, planes, args, console, stdin, passes.pop())
    else:
        confirm_cost(
            engine, sum(job.runs for job in jobs), args, console, stdin
        )
    if price_of(engine) > 0 and cap.limit_usd is not None:
        source = '--spend-cap' if args.spend_cap is not None else _cap_source()
        left = max(0.0, cap.limit_usd - cap.spent_usd)
        allowed = int((left + 1e-9) // price_of(engine))
        console.say(
            f'spend cap: ${cap.limit_usd:.2f} '
            f'({source}; ${cap.spent_usd:.2f} spent so far): room for '
            f'{allowed} more paid run{"" if allowed == 1 else "s"}'
        )

    submitted = SubmittedRuns()
    try:
        return _run_jobs(jobs, engine, expand, args, console, cap, submitted)
    except BaseException as exc:  # every way out names the unsettled runs
        submitted.mark(exc)  # a second Ctrl-C too
        raise
    finally:
        release_engine(engine)  # a --scheduler connection


def _run_jobs(
    jobs: list[Job],
    engine: Engine,
    expand: Expand | Canvas,
    args: argparse.Namespace,
    console: Console,
    cap: SpendCap,
    submitted: SubmittedRuns,
) -> int:
    """Outpaint job by job; a failed file does not stop the others."""
    code = EXIT_OK
    for number, job in enumerate(jobs, start=1):
        label = job.image.name
        if len(jobs) > 1:
            label = f'[{number}/{len(jobs)}] {label}'
        started = time.monotonic()
        try:
            with _printer(job, console, label) as printer:
                result = run_cancellable(
                    lambda cancel, job=job, printer=printer: _outpaint_job(
                        job,
                        engine,
                        expand,
                        args,
                        printer,
                        cancel,
                        cap,
                        submitted,
                    ),  # fmt: skip
                    CancelToken(),
                    console,
                )
        except Interrupted as exc:
            if job.planes is not None and exc.value is not None:
                _finish_job(job, exc.value, expand, args, console, label, 0)
            raise
        except OutpaintError as exc:
            if len(jobs) == 1:
                raise
            console.error(f'{label}: {with_flag(exc)}')
            code = code or exit_code(exc)
            if isinstance(exc, STOP_ALL_RUNS):
                break
            continue
        code = (
            _finish_job(job, result, expand, args, console, label, started)
            or code
        )
    return code
