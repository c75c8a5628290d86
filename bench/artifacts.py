"""Artifact sizes of what `sam build` would package: the layer (our package plus
its runtime requirements for python3.13 / arm64, as pip --target builds it) and
each function's code. boto3/botocore come with the Lambda runtime."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.common import ROOT, Figure

LAYER_LIMIT = 5 * 1024 * 1024
FUNCTION_LIMIT = 100 * 1024


def _zip(source: Path, target: Path, prefix: str = "") -> int:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"{prefix}{path.relative_to(source)}")
    return target.stat().st_size


def run() -> tuple[list[Figure], dict[str, float]]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = work / "layer" / "python"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.13",
             "--only-binary=:all:", "--target", str(site), "-r", str(ROOT / "layers" / "core" / "requirements.txt")],
            check=True,
        )
        shutil.copytree(ROOT / "layers" / "core" / "aculab_messaging", site / "aculab_messaging",
                        ignore=shutil.ignore_patterns("__pycache__"))
        bundled = sorted(p.name for p in site.iterdir() if p.name.split("-")[0] in ("boto3", "botocore"))
        size = _zip(work / "layer", work / "layer.zip")
        figures.append(Figure("layer zip", size / 1024 / 1024, "MB", "5 MB limit", size / LAYER_LIMIT, "<= 5 MB",
                              size <= LAYER_LIMIT and not bundled))
        figures.append(Figure("boto3/botocore bundled in layer", len(bundled), "packages", "runtime provides them",
                              None, "= 0", not bundled))
        for name in ("webhook", "send", "reconcile"):
            fsize = _zip(ROOT / "functions" / name, work / f"{name}.zip")
            figures.append(Figure(f"function zip: {name}", fsize / 1024, "KB", "100 KB limit", fsize / FUNCTION_LIMIT,
                                  "<= 100 KB", fsize <= FUNCTION_LIMIT))
    return figures, {}
