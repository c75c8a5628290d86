"""Artifact sizes of what `sam build` packages: the layer (our package and its
runtime requirements for python3.13 / arm64, bytecode included, built by
layers/core/Makefile) and each function's code. boto3/botocore come with the
Lambda runtime."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.common import ROOT, Figure, build_host_layer, build_layer

# 5 MB until pydantic joined the layer (#15): pydantic_core's compiled core alone is 2.0 MB zipped; 8 MB
# until tzdata joined it (#27, quiet hours: the IANA zones zoneinfo reads, 0.37 MB zipped, since the runtime
# image need not carry a zone database). Lambda's own limit is 50 MB zipped; this one keeps the layer from
# growing unnoticed.
LAYER_LIMIT = 9 * 1024 * 1024
FUNCTION_LIMIT = 100 * 1024


def _zip(source: Path, target: Path, with_bytecode: bool) -> int:
    """Zip as deployed: the layer keeps its compiled bytecode, a source tree drops any."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and (with_bytecode or "__pycache__" not in path.parts):
                archive.write(path, str(path.relative_to(source)))
    return target.stat().st_size


def _sam() -> str | None:
    """aws-sam-cli and python3.13, when this machine has both (`make build` installs the CLI)."""
    sam = shutil.which("sam") or (str(ROOT / ".venv-sam" / "bin" / "sam")
                                  if (ROOT / ".venv-sam" / "bin" / "sam").exists() else None)
    try:
        subprocess.run(["python3.13", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return sam


def run(offline: bool = False) -> tuple[list[Figure], dict[str, float]]:
    """``offline``: no sam build and no package index (the tests): the layer of the locked packages as
    this machine's virtualenv has them (bench.common.build_host_layer), built for this machine, not arm64."""
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sam = None if offline else _sam()
        if sam:
            subprocess.run([sam, "build", "--build-dir", str(work / "sam"), "--template", str(ROOT / "template.yaml")],
                           check=True, cwd=ROOT, capture_output=True, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
            built = work / "sam"
            layer_dir = next(p for p in built.iterdir() if p.name.startswith("CoreLayer"))
            shutil.copytree(layer_dir, work / "layer")
            how = "sam build"
        elif offline:
            how = "locked packages as installed here"
            build_host_layer(work / "layer")
        else:
            how = f"layer Makefile, {sys.executable.rsplit('/', 1)[-1]}"
            build_layer(work / "layer")
        site = work / "layer" / "python"
        bundled = sorted(p.name for p in site.iterdir() if p.name.split("-")[0] in ("boto3", "botocore"))
        size = _zip(work / "layer", work / "layer.zip", with_bytecode=True)
        figures.append(Figure(f"layer zip ({how})", size / 1024 / 1024, "MB", "9 MB limit", size / LAYER_LIMIT,
                              "<= 9 MB", size <= LAYER_LIMIT and not bundled))
        figures.append(Figure("boto3/botocore bundled in layer", len(bundled), "packages", "runtime provides them",
                              None, "= 0", not bundled))
        for name in sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir() and p.name != "__pycache__"):
            source = work / "sam" / f"{name.capitalize()}Function" if sam else ROOT / "functions" / name
            fsize = _zip(source, work / f"{name}.zip", with_bytecode=False)
            figures.append(Figure(f"function zip: {name}", fsize / 1024, "KB", "100 KB limit", fsize / FUNCTION_LIMIT,
                                  "<= 100 KB", fsize <= FUNCTION_LIMIT))
    return figures, {}
