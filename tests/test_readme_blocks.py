"""Every code block of README.md and README.zh-CN.md works as shown, so a reader can copy any
one of them. Each Python block runs on its own, saved as a file in an empty folder outside the
clone where only the `minigrad` package is importable (as after `pip install`), and prints
exactly the text block shown right under it. Each shell command names a real module, real
options and real extras. README.zh-CN.md's translated sections keep README's code.

A block that cannot run here (it needs a run folder, or minutes of work) starts with a line
`# not run by tests/test_readme_blocks.py: <the reason>`; keep those few."""

import dataclasses
import functools
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = ("README.md", "README.zh-CN.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", flags=re.S | re.M)
NOT_RUN = "# not run by tests/test_readme_blocks.py:"
LANGUAGES = ("python", "bash", "text")  # run, checked, compared with what a block printed
BLOCK_TIMEOUT = 120  # seconds; the MNIST blocks read 70,000 digits on a shared machine
# The sections of README.md that README.zh-CN.md translates, and their Chinese titles.
TRANSLATED = {
    "Quick start": "快速开始",
    "Example": "示例",
    "Gradient-check testing": "梯度确认（gradient check）测试",
    "Graph pictures": "计算图的图片",
    "MNIST data": "MNIST 数据",
}


@dataclasses.dataclass(frozen=True)
class Block:
    readme: str
    line: int
    language: str
    code: str
    output: str | None  # the text block right under it, if any

    def __str__(self) -> str:
        return f"{self.readme}:{self.line}"


def code_blocks(text: str, readme: str = "") -> list[Block]:
    fences = list(FENCE.finditer(text))
    found = []
    for fence, following in zip(fences, [*fences[1:], None]):
        adjacent = following is not None and not text[fence.end() : following.start()].strip()
        output = following[2] if adjacent and following[1] == "text" else None
        line = text.count("\n", 0, fence.start()) + 1
        found.append(Block(readme, line, fence[1], fence[2], output))
    return found


def read(readme: str) -> str:
    return (ROOT / readme).read_text(encoding="utf-8")


def blocks_in(language: str) -> list[Block]:
    """Each block once: README.zh-CN.md repeats most of README's, and one run tests both."""
    found: dict[tuple[str, str | None], Block] = {}
    for readme in READMES:
        for block in code_blocks(read(readme), readme):
            key = (block.code, block.output)
            if block.language == language and key not in found:
                found[key] = block
    return list(found.values())


@pytest.fixture(scope="module")
def only_minigrad(tmp_path_factory) -> Path:
    """A folder for PYTHONPATH holding just this clone's `minigrad`: blocks import the code
    under test, and nothing else of the clone (`dataset`, `models`) that an install lacks."""
    folder = tmp_path_factory.mktemp("site-packages")
    (folder / "minigrad").symlink_to(ROOT / "minigrad", target_is_directory=True)
    return folder


@pytest.mark.parametrize("block", blocks_in("python"), ids=str)
def test_each_python_block_runs_on_its_own_and_prints_what_is_shown(block, tmp_path, only_minigrad):
    if block.code.startswith(NOT_RUN):
        pytest.skip(block.code.splitlines()[0].removeprefix(NOT_RUN).strip())
    # example.py: what a reader would save it as, and the file detect_anomaly's message names.
    (tmp_path / "example.py").write_text(block.code, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(only_minigrad), OPENBLAS_NUM_THREADS="1")
    # Hypothesis's built-in CI profile: derandomized, no deadline, no example database.
    env["CI"] = "true"
    run = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    assert run.returncode == 0, f"the block at {block} failed:\n{block.code}\n{run.stderr}"
    # Messages that name the script name it as the reader's own folder would show it.
    printed = run.stdout.replace(f"{tmp_path}{os.sep}", "")
    if block.output is not None:
        assert printed == block.output, f"the block at {block} no longer prints what is shown"
    else:
        assert not printed, f"the block at {block} prints, but no text block shows it"
    for picture in tmp_path.glob("*.png"):
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{block} wrote a broken {picture}"


def shell_commands(code: str) -> list[list[str]]:
    """Each command of a shell block as words, comments dropped, `a && b` split."""
    commands = []
    for line in code.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:end])
            words = words[end + 1 :]
    return commands


@functools.cache
def help_text(program: tuple[str, ...]) -> str:
    run = subprocess.run(
        [sys.executable, *program, "--help"],
        cwd=ROOT,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    assert run.returncode == 0, f"`python {' '.join(program)} --help` failed:\n{run.stderr}"
    return run.stdout


def check_python_command(words: list[str]) -> None:
    program = tuple(words[1:3]) if words[1] == "-m" else tuple(words[1:2])
    options = [word.split("=", 1)[0] for word in words[1 + len(program) :]]
    options = [option for option in options if option.startswith("--")]
    if not options:  # then `--help` would only show that it starts; finding it is enough
        found = importlib.util.find_spec(program[1]) if program[0] == "-m" else None
        assert found or (ROOT / program[0]).is_file(), f"no `python {' '.join(program)}`"
        return
    shown = help_text(program)
    for option in options:
        assert option in shown, f"`python {' '.join(program)}` has no option {option}"


def check_pip_install(words: list[str]) -> None:
    # No tomllib: Python 3.10 is supported. Each extra is a `name = [` line of its table.
    table = read("pyproject.toml").split("[project.optional-dependencies]\n", 1)[1]
    extras = re.findall(r"^([\w-]+) = \[", table.split("\n[", 1)[0], flags=re.M)
    targets = [word for word in words[2:] if not word.startswith("-")]
    assert targets, f"`{shlex.join(words)}` installs nothing"
    for target in targets:
        path, _, wanted = target.partition("[")
        assert path == ".", f"`{shlex.join(words)}`: the README installs this clone only"
        for extra in filter(None, wanted.rstrip("]").split(",")):
            assert extra in extras, f"`{shlex.join(words)}`: pyproject.toml has no extra {extra}"


CHECKS = {"python": check_python_command, "pip": check_pip_install}


@pytest.mark.parametrize("block", blocks_in("bash"), ids=str)
def test_each_shell_command_names_real_modules_options_and_extras(block):
    """Cheap stand-ins for running them (training takes minutes): `--help` of each command
    must list every option the README gives it, and each extra must be in pyproject.toml."""
    if block.code.startswith(NOT_RUN):
        pytest.skip(block.code.splitlines()[0].removeprefix(NOT_RUN).strip())
    for words in shell_commands(block.code):
        assert words[0] in CHECKS, (
            f"{block}: no check for `{shlex.join(words)}`; add one to CHECKS in this test, or "
            f"start the block with `{NOT_RUN} <why>`"
        )
        CHECKS[words[0]](words)


@pytest.mark.parametrize("readme", READMES)
def test_every_block_is_python_shell_or_text_so_none_goes_unchecked(readme):
    """A ```py or ``` block would be skipped by the tests above without a word."""
    unknown = [str(b) for b in code_blocks(read(readme), readme) if b.language not in LANGUAGES]
    assert not unknown, f"tag these blocks python, bash or text: {', '.join(unknown)}"


def test_readme_links_to_the_chinese_readme_at_the_top():
    assert any("(README.zh-CN.md)" in line for line in read("README.md").splitlines()[:3])


def section(text: str, title: str) -> str:
    assert f"\n## {title}\n" in text, f"no section '## {title}'"
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def is_import(line: str) -> bool:
    return line.startswith(("import ", "from "))


@pytest.mark.parametrize("english, chinese", TRANSLATED.items())
def test_the_code_of_each_translated_section_is_there(english, chinese):
    """Each line of README's code (imports aside: a block run on its own gathers them at
    its top) appears in the Chinese section's blocks of the same language."""
    translated = code_blocks(section(read("README.zh-CN.md"), chinese))
    missing = []
    for block in code_blocks(section(read("README.md"), english)):
        if block.language == "text":
            continue
        present = {
            line.strip()
            for other in translated
            if other.language == block.language
            for line in other.code.splitlines()
        }
        missing += [
            line
            for line in block.code.splitlines()
            if line.strip() and not is_import(line) and line.strip() not in present
        ]
    assert not missing, (
        f"README.md's '## {english}' has code that README.zh-CN.md's '## {chinese}' lacks; "
        "bring the Chinese section in step:\n" + "\n".join(missing)
    )


def line_shape(line: str) -> str:
    """A printed line with its numbers and its run folder left out."""
    line = re.sub(r"^wrote \S+/:", "wrote FOLDER/:", line)
    return re.sub(r"\d+(\.\d+)?", "N", line)


def test_the_sample_training_output_has_the_lines_the_command_prints(tmp_path, capsys):
    """The sample is a full `default` run (minutes); a `--quick` run must print the same
    lines, numbers and folder aside."""
    from models import train

    training = section(read("README.md"), "Training the MNIST MLP")
    sample = next(block for block in code_blocks(training) if block.language == "text")
    assert train.main(["--quick", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    shown = [line_shape(line) for line in sample.code.splitlines() if line != "..."]
    assert list(dict.fromkeys(shown)) == [line_shape(line) for line in printed.splitlines()]
