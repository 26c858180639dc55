"""The ``napari-outpaint`` command.

Parsing (:mod:`.args`), inputs and outputs (:mod:`.inputs`,
:mod:`.outputs`), the engine line and the price (:mod:`.engine`), the run
(:mod:`.run`), the ``history`` and ``collect`` subcommands, the console
and the progress it shows (:mod:`.console`), Ctrl-C handling
(:mod:`.worker`), and exit codes
(:mod:`.exit_codes`). :func:`main` is the console script's entry point.
Nothing below this room imports it.
"""

from napari_outpaint._cli.main import main

__all__ = ['main']
