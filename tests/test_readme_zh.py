"""README.zh-CN.md stays in step with README.md: each of its Python blocks runs on its own,
in a fresh interpreter and an empty folder, and prints the text block shown right under it;
and the code of README's translated sections is all there."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_ZH = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
# The sections of README.md that README.zh-CN.md translates, and their Chinese titles.
SECTIONS = {
    "Quick start": "快速开始",
    "Example": "示例",
    "Gradient-check testing": "梯度确认（gradient check）测试",
    "Graph pictures": "计算图的图片",
    "MNIST data": "MNIST 数据",
}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", flags=re.S | re.M)
BLOCK_TIMEOUT = 300  # seconds; the MNIST blocks read 70,000 digits on a shared machine


def section(text: str, title: str) -> str:
    assert f"\n## {title}\n" in text, f"no section '## {title}'"
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text: str) -> list[tuple[str, str, str | None]]:
    """(language, code, output): output is the text block right under the block, if any."""
    fences = list(FENCE.finditer(text))
    found = []
    for fence, following in zip(fences, [*fences[1:], None]):
        adjacent = following is not None and not text[fence.end() : following.start()].strip()
        output = following[2] if adjacent and following[1] == "text" else None
        found.append((fence[1], fence[2], output))
    return found


def zh_python_blocks() -> list[tuple[str, str | None]]:
    return [
        (code, output)
        for title in SECTIONS.values()
        for language, code, output in code_blocks(section(README_ZH, title))
        if language == "python"
    ]


def first_line(code: str) -> str:
    return next(line for line in code.splitlines() if line.strip())[:40]


def test_readme_links_to_the_chinese_readme_at_the_top():
    assert any("(README.zh-CN.md)" in line for line in README.splitlines()[:3])


@pytest.mark.parametrize(
    "code, output",
    zh_python_blocks(),
    ids=[f"{number}-{first_line(code)}" for number, (code, _) in enumerate(zh_python_blocks())],
)
def test_each_python_block_runs_on_its_own(code, output, tmp_path):
    (tmp_path / "block.py").write_text(code, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # Hypothesis's built-in CI profile: derandomized, no deadline on a shared machine, and no
    # example database left behind.
    env["CI"] = "true"
    run = subprocess.run(
        [sys.executable, "block.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    assert run.returncode == 0, f"this block failed:\n{code}\n{run.stderr}"
    if output is not None:
        assert run.stdout == output, "the block no longer prints the text shown under it"


def is_import(line: str) -> bool:
    return line.startswith(("import ", "from "))


@pytest.mark.parametrize("english, chinese", SECTIONS.items())
def test_the_code_of_each_translated_section_is_there(english, chinese):
    """Each line of README's code (imports aside: a block run on its own gathers them at
    its top) appears in the Chinese section's blocks of the same language."""
    translated = code_blocks(section(README_ZH, chinese))
    missing = []
    for language, code, _ in code_blocks(section(README, english)):
        if language == "text":
            continue
        present = {
            line.strip()
            for lang, block, _ in translated
            if lang == language
            for line in block.splitlines()
        }
        missing += [
            line
            for line in code.splitlines()
            if line.strip() and not is_import(line) and line.strip() not in present
        ]
    assert not missing, (
        f"README.md's '## {english}' has code that README.zh-CN.md's '## {chinese}' lacks; "
        "bring the Chinese section in step:\n" + "\n".join(missing)
    )
