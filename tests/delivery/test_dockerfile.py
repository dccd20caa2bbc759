"""The Dockerfile, parsed stage by stage (no Docker engine runs here): multi-stage, pinned slim
base, only the virtualenv in the final stage, no compilers there, numeric non-root user,
entrypoint `qco run`; .dockerignore keeps everything but the package sources out; and the
builder's wheel step, run on the build context .dockerignore lets in, yields a package without
the sandbox's stand-ins whose `qco run` works."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.delivery.chart import ROOT

COMPILERS = ("gcc", "g++", "cc", "clang", "make", "build-essential", "cmake", "rustc", "cargo", "gfortran")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction; comments dropped, line continuations joined."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def _stages() -> tuple[dict[str, str], list[Stage]]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, value in _instructions((ROOT / "Dockerfile").read_text()):
        if keyword == "ARG" and not stages:
            name, _, default = value.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = value.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        else:
            stages[-1].instructions.append((keyword, value))
    return args, stages


def test_multi_stage_from_a_pinned_slim_python() -> None:
    _, stages = _stages()
    assert len(stages) == 2
    builder, final = stages
    assert builder.name == "builder"
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", final.base), final.base
    assert builder.base == final.base  # the venv's interpreter path is the same in both stages
    assert any("pip install" in run and "/opt/qco" in run for run in builder.all("RUN"))


def test_final_stage_has_only_the_venv_and_no_compilers() -> None:
    _, (builder, final) = _stages()
    assert final.all("RUN") == []  # nothing is installed (let alone compiled) in the final stage
    assert final.all("ADD") == []
    assert final.all("COPY") == [f"--from={builder.name} /opt/qco /opt/qco"]
    assert any(value.startswith("PATH=/opt/qco/bin:") for value in final.all("ENV"))
    for keyword, value in final.instructions:
        words = set(re.split(r"[\s;&|=]+", value))
        assert words.isdisjoint(COMPILERS), f"{keyword} {value}"


def test_runs_as_a_numeric_non_root_user() -> None:
    _, (_, final) = _stages()
    (user,) = final.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or (gid.isdigit() and int(gid) > 0))
    keywords = [kw for kw, _ in final.instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw in {"COPY", "RUN"})
    # The chart runs the pod as the same user.
    assert f"runAsUser: {uid}" in (ROOT / "charts" / "qco" / "values.yaml").read_text()


def test_entrypoint_is_qco_run() -> None:
    _, (_, final) = _stages()
    (entrypoint,) = final.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["qco", "run"]  # exec form: qco is PID 1 and gets SIGTERM
    assert final.all("CMD") == []


def _included(path: str) -> bool:
    """Whether .dockerignore lets `path` into the build context (the last matching pattern wins)."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    keep = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            keep = negated
    return keep


def test_dockerignore_lets_in_only_the_package_sources() -> None:
    _, (builder, _) = _stages()
    for copy in builder.all("COPY"):
        for source in shlex.split(copy)[:-1]:
            assert _included(source.rstrip("/")), f"COPY {source} is excluded by .dockerignore"
    assert _included("operator/qco/cli/run.py")
    for path in (
        "tests/conftest.py",
        "charts/qco/values.yaml",
        ".git/HEAD",
        ".venv/bin/python",
        "docs/install.md",
        "operator/qco/sandbox/__init__.py",
        "operator/qco/sandbox/qdrant/server.py",
    ):
        assert not _included(path), path


def _build_context(context: Path) -> None:
    """What the builder stage's COPY instructions put in its WORKDIR, .dockerignore applied."""
    _, (builder, _) = _stages()
    for copy in builder.all("COPY"):
        *sources, _ = shlex.split(copy)
        for source in sources:
            for path in [ROOT / source, *(ROOT / source).rglob("*")]:
                relative = path.relative_to(ROOT).as_posix()
                if path.is_file() and _included(relative):
                    (context / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, context / relative)


def _wheel_step(wheels: Path) -> list[str]:
    """The builder's `pip wheel` command, run with this interpreter's pip into `wheels`."""
    _, (builder, _) = _stages()
    commands = [c.strip() for run in builder.all("RUN") for c in run.split("&&")]
    (step,) = [shlex.split(c) for c in commands if " wheel " in c]
    assert step[:2] == ["/opt/qco/bin/pip", "wheel"], step
    args = [str(wheels) if arg == "/tmp/wheels" else arg for arg in step[2:]]
    return [sys.executable, "-m", "pip", "wheel", *args]


def test_the_image_package_has_no_sandbox_and_runs(tmp_path: Path) -> None:
    context, wheels, site = tmp_path / "src", tmp_path / "wheels", tmp_path / "site"
    _build_context(context)
    assert (context / "operator" / "qco" / "cli" / "run.py").is_file()
    built = subprocess.run(_wheel_step(wheels), cwd=context, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "qco/cli/run.py" in names
    assert not [n for n in names if n.startswith("qco/sandbox")]

    # The wheel alone (its dependencies come from this environment), ahead of the editable install.
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site)]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True, timeout=120)
    env = {**os.environ, "PYTHONPATH": str(site)}

    def qco(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "qco", *args]
        return subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    where = [sys.executable, "-c", "import qco; print(qco.__file__)"]
    found = subprocess.run(where, env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert Path(found.stdout.strip()).is_relative_to(site)
    result = qco("run", "--help")
    assert result.returncode == 0, result.stderr
    assert "QCO_QDRANT_URL" in result.stdout
    result = qco("sandbox")
    assert result.returncode == 2
    assert "pip install 'qdrant-collection-operator[sandbox]'" in result.stderr
    assert "Traceback" not in result.stderr
