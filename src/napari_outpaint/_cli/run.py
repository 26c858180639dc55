"""The main command: outpaint each input file and write its outputs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any, TextIO

from napari_outpaint._cache.cost import SpendCap, price_of, session_spend_cap
from napari_outpaint._cli.args import build_parser
from napari_outpaint._cli.console import BatchPrinter, Console, ProgressPrinter
from napari_outpaint._cli.engine import choose_engine, confirm_cost
from napari_outpaint._cli.exit_codes import (
    EXIT_OK,
    STOP_ALL,
    batch_exit_code,
    exit_code,
    with_flag,
)
from napari_outpaint._cli.inputs import Job, prepare_jobs
from napari_outpaint._cli.outputs import write_outputs
from napari_outpaint._cli.worker import Interrupted, run_cancellable
from napari_outpaint._errors import InvalidInputError, OutpaintError
from napari_outpaint._expand import Expand
from napari_outpaint._progress import CancelToken


def _paid(engine: Any) -> bool:
    return price_of(engine) > 0


def _is_batch(job: Job) -> bool:
    return job.planes is not None and len(job.planes) > 1


def spend_cap_of(args: argparse.Namespace) -> SpendCap:
    """``--spend-cap`` for this invocation, else the session's cap.

    The session cap reads ``NAPARI_OUTPAINT_SPEND_CAP_USD`` (off when
    unset); an invalid value is a ``ConfigurationError`` (exit 3).
    """
    if args.spend_cap is not None:
        return SpendCap(args.spend_cap)
    return session_spend_cap()


def _outpaint_job(
    job: Job,
    engine: Any,
    expand: Expand,
    args: argparse.Namespace,
    console: Console,
    label: str,
    cancel: CancelToken,
    cap: SpendCap,
) -> Any:
    """One job through the pipeline.

    One plane (a 2D image or --plane I,J) goes through ``outpaint_array``;
    every plane (--plane all) through the batch, into one nD result. Both
    reserve each paid run against *cap* before sending anything.
    """
    image = job.image
    common: dict[str, Any] = {
        'rgb': image.rgb,
        'contrast_limits': job.contrast_limits,
        'scale': image.scale,
        'keep_native_resolution': args.native_resolution,
        'source_name': image.name,
        'cancel': cancel,
    }
    if _is_batch(job):
        from napari_outpaint._batch.outpaint import outpaint_planes

        return outpaint_planes(
            job.pixels(),
            expand,
            planes=list(job.planes or ()),
            engine=engine,
            confirm=True,  # the price was shown and confirmed up front
            spend_cap=cap,
            concurrency=args.concurrency,
            progress=BatchPrinter(console, label),
            **common,
        )
    from napari_outpaint._pipeline.array import outpaint_array

    if _paid(engine):
        # a paid result is stored before it is shown, never paid twice
        from napari_outpaint._cache.engine import CachingEngine

        engine = CachingEngine(
            engine, info={'source': image.source}, spend_cap=cap
        )
    return outpaint_array(
        job.pixels(),
        expand,
        engine=engine,
        plane=job.planes[0] if job.planes else None,
        progress=ProgressPrinter(console, label),
        **common,
    )


def _finish_job(
    job: Job,
    result: Any,
    expand: Expand,
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
    for path in write_outputs(job, result, expand, args):
        console.result(str(path))
    seconds = time.monotonic() - started
    if outcomes is not None:
        console.say(f'{label}: {result.summary()}')
        if not result.complete:
            console.error(
                f'{label}: partial result written ({len(result.finished)} '
                f'of {len(outcomes)} planes; unfinished planes are 0). '
                'Run the same command again to finish: finished planes '
                'come from the cache at no cost.'
            )
            return batch_exit_code(result)
    for message in getattr(result, 'warnings', ()) or ():
        console.say(f'{label}: warning: {message}')
    seam = (result.provenance or {}).get('seam_score')
    note = f', seam score {seam:.2f}' if isinstance(seam, float) else ''
    console.say(f'{label}: done in {seconds:.1f} s{note}')
    return EXIT_OK


def outpaint_command(
    argv: Sequence[str], console: Console, stdin: TextIO
) -> int:
    """Parse *argv*, check everything, then outpaint job by job."""
    parser = build_parser()
    parser.out = console.out
    args = parser.parse_args(argv)
    console.quiet = args.quiet
    try:
        expand = Expand(args.top, args.bottom, args.left, args.right)
    except InvalidInputError as exc:
        raise InvalidInputError(
            '--top/--bottom/--left/--right',
            'all four are 0, so there is nothing to outpaint; set at least '
            'one above 0 (e.g. --left 30).',
        ) from exc
    jobs = prepare_jobs(args)
    engine = choose_engine(args, console)
    cap = spend_cap_of(args)
    runs = sum(len(job.planes or (None,)) for job in jobs)
    confirm_cost(engine, runs, args, console, stdin)
    if _paid(engine) and cap.limit_usd is not None:
        source = '--spend-cap' if args.spend_cap is not None else 'env'
        left = max(0.0, cap.limit_usd - cap.spent_usd)
        allowed = int((left + 1e-9) // price_of(engine))
        console.say(
            f'spend cap: ${cap.limit_usd:.2f} '
            f'({source}; ${cap.spent_usd:.2f} spent so far): room for '
            f'{allowed} more paid run{"" if allowed == 1 else "s"}'
        )

    code = EXIT_OK
    for number, job in enumerate(jobs, start=1):
        label = job.image.name
        if len(jobs) > 1:
            label = f'[{number}/{len(jobs)}] {label}'
        started = time.monotonic()
        try:
            result = run_cancellable(
                lambda cancel, job=job, label=label: _outpaint_job(
                    job, engine, expand, args, console, label, cancel, cap
                ),
                CancelToken(),
                console,
            )
        except Interrupted as exc:
            if _is_batch(job) and exc.value is not None:
                _finish_job(job, exc.value, expand, args, console, label, 0)
            raise
        except OutpaintError as exc:
            if len(jobs) == 1:
                raise
            console.error(f'{label}: {with_flag(exc)}')
            code = code or exit_code(exc)
            if isinstance(exc, STOP_ALL):
                break
            continue
        code = (
            _finish_job(job, result, expand, args, console, label, started)
            or code
        )
    return code
