"""Golden files for every emitted file of the example environments.

Update after an intended change with `make golden` (pytest --force-regen), then review the diff.
"""

from __future__ import annotations

import pytest
from conftest import ENVIRONMENTS, EXAMPLE_ENVS

from blueprint.pipeline import render


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_emitted_files_match_golden(env: str, file_regression, request) -> None:
    files = render(ENVIRONMENTS, env).files
    # One golden file per emitted file; the index pins the set of files too.
    index = "\n".join(files) + "\n"
    file_regression.check(index, basename=f"{env}__index", extension=".txt")
    for rel, text in files.items():
        if rel.startswith("platform/modules/"):  # verbatim copies of modules/, tested there
            assert text == (ENVIRONMENTS.parent / rel.removeprefix("platform/")).read_text()
            continue
        stem, suffix = rel.rsplit(".", 1)
        file_regression.check(text, basename=f"{env}__{stem.replace('/', '__')}", extension=f".{suffix}")
