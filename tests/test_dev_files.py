"""The developer files: CI workflow, pre-commit hooks, README images.

What this file checks
---------------------
- ``.github/workflows/test.yml`` parses, runs on Ubuntu with Python 3.11,
  installs the system packages with ``scripts/install-system-deps.sh``
  and runs the README's test command (read from the README).
- ``.pre-commit-config.yaml`` parses and has ruff (check and format),
  napari-plugin-checks and a local import-linter hook whose command
  passes on this worktree.
- README's images are absolute URLs on main (PyPI and the hub cannot
  resolve relative paths) of files the repository holds.

Neither GitHub Actions nor pre-commit runs here (no network).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RAW_MAIN = (
    'https://raw.githubusercontent.com/napari-outpaint/napari-outpaint/main/'
)


def readme_test_command() -> str:
    """The README's test command: ``make test`` in its Quick start."""
    readme = (ROOT / 'README.md').read_text('utf-8')
    start = readme.index('## Quick start')
    block = re.search(r'```bash\n(.*?)```', readme[start:], re.S).group(1)
    (line,) = [ln for ln in block.splitlines() if 'run the test suite' in ln]
    return line.split('#', 1)[0].strip()


def test_workflow_runs_the_readme_test_command_on_ubuntu():
    """Ubuntu, Python 3.11, the system packages, then README's command."""
    workflow = yaml.safe_load(
        (ROOT / '.github' / 'workflows' / 'test.yml').read_text('utf-8')
    )
    assert 'pull_request' in workflow[True]  # YAML 1.1 reads `on` as True
    (job,) = workflow['jobs'].values()
    assert job['runs-on'].startswith('ubuntu')
    steps = job['steps']
    (python,) = [s for s in steps if 'setup-python' in s.get('uses', '')]
    assert str(python['with']['python-version']) == '3.11'
    runs = [s['run'].strip() for s in steps if 'run' in s]
    assert runs[-1] == readme_test_command() == 'make test'
    assert any('scripts/install-system-deps.sh' in r for r in runs[:-1])
    assert (ROOT / 'scripts' / 'install-system-deps.sh').is_file()


def test_pre_commit_has_ruff_plugin_checks_and_import_linter():
    """The four hooks are there; the import-linter hook's command passes."""
    config = yaml.safe_load(
        (ROOT / '.pre-commit-config.yaml').read_text('utf-8')
    )
    hooks = {
        repo['repo']: {hook['id']: hook for hook in repo['hooks']}
        for repo in config['repos']
    }
    assert {'ruff-check', 'ruff-format'} <= set(
        hooks['https://github.com/astral-sh/ruff-pre-commit']
    )
    assert (
        'napari-plugin-checks'
        in (hooks['https://github.com/tlambert03/napari-plugin-checks'])
    )
    linter = hooks['local']['import-linter']
    assert linter['language'] == 'system'
    assert linter['pass_filenames'] is False
    command = shlex.split(linter['entry'])
    assert command[-1] == 'lint-imports'
    bin_dir = str(Path(sys.executable).parent)
    done = subprocess.run(
        [*command, '--no-cache'],
        cwd=ROOT,
        env={**os.environ, 'PATH': bin_dir + os.pathsep + os.environ['PATH']},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r'Contracts: \d+ kept, 0 broken', done.stdout)


def test_readme_images_are_absolute_urls_to_files_in_the_repository():
    """PyPI and the hub cannot resolve relative paths: every README image
    is an absolute URL on main, and names a file the repository holds."""
    readme = (ROOT / 'README.md').read_text('utf-8')
    images = re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)', readme)
    assert len(images) >= 2  # the widget after a run, the handles
    for url in images:
        assert url.startswith(RAW_MAIN), url
        assert (ROOT / url.removeprefix(RAW_MAIN)).is_file(), url
