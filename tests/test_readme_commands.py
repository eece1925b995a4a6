"""Every ``neural-arch`` command shown in the READMEs parses: a renamed flag or subcommand
fails here instead of in a new user's first hour. (Parsing only; running them needs weights.)"""

import re
import shlex
from pathlib import Path

import pytest

from neural_arch.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "checkpoints/README.md", "benchmarks/README.md"]


def documented_commands():
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                found = re.search(r"(?:^|\s)(neural-arch .*)", line)  # also after mpiexec, &&
                if found:
                    yield doc, found.group(1)


COMMANDS = sorted(set(documented_commands()))


def test_the_readmes_show_commands():
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("doc, line", COMMANDS)
def test_documented_command_parses(doc, line):
    argv = shlex.split(line)[1:]
    args = build_parser().parse_args(argv)  # argparse exits (SystemExit) on a bad command
    assert args.command == argv[argv[0] == "--threads" and 2 or 0]
