"""Every Python block in README.md runs as written (so the README cannot rot)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, capsys):
    namespace: dict = {}
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)  # noqa: S102


def test_readme_has_the_two_quick_start_commands():
    text = README.read_text(encoding="utf-8")
    start = text.index("## Quick start")
    commands = re.findall(r"```bash\n(.*?)```", text[start:start + 2000], flags=re.S)
    assert len(commands) == 2
    assert "python -m pytest" in commands[1]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci, ".ci/run must run the README's test command"
