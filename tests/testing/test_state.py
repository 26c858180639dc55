"""StandInState, the part of the stand-in that routes and handler see.

What this file checks
---------------------
- ``RunflowStandIn`` has every attribute and method the protocol lists,
  with the same parameters, so the routes typed against the protocol
  run against the real stand-in.
- The routes, replies and handler do not import the stand-in module.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import napari_outpaint.testing as testing_package
from napari_outpaint.testing import RunflowStandIn
from napari_outpaint.testing._state import StandInState

_METHODS = sorted(
    name
    for name, value in vars(StandInState).items()
    if inspect.isfunction(value) and not name.startswith('__')
)
_ATTRIBUTES = sorted(StandInState.__annotations__)


def test_protocol_lists_what_the_routes_use():
    """The protocol is not empty: it names the lock, faults and helpers."""
    assert {'_lock', '_faults', 'runs', 'assets'} <= set(_ATTRIBUTES)
    assert {'get_run', '_record', '_create_run'} <= set(_METHODS)


@pytest.mark.parametrize('name', _ATTRIBUTES)
def test_standin_has_each_attribute(name):
    """A fresh (unstarted) stand-in already holds each listed attribute."""
    assert hasattr(RunflowStandIn(), name)


@pytest.mark.parametrize('name', _METHODS)
def test_standin_methods_take_the_protocol_parameters(name):
    """Each listed method exists on the stand-in with the same parameters."""
    expected = inspect.signature(getattr(StandInState, name)).parameters
    actual = inspect.signature(getattr(RunflowStandIn, name)).parameters
    assert list(actual) == list(expected)


@pytest.mark.parametrize('module', ['_api', '_handler', '_replies', '_state'])
def test_module_does_not_import_the_standin(module):
    """No import of ``_standin``, at run time or for typing, anywhere."""
    path = Path(testing_package.__file__).with_name(f'{module}.py')
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or '')
            imported.update(f'{node.module}.{a.name}' for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert 'napari_outpaint.testing._standin' not in imported
    assert not any(name.endswith('RunflowStandIn') for name in imported)
