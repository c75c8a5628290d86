"""Shared bench plumbing: a moto server, the simulator, the stack from template.yaml."""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template import ROOT

SIM_CREDENTIALS = {"cloud_id": "1-2-0", "username": "sim@example.com", "api_key": "sim-api-key"}


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None  # None: a figure for information, with no target


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def build_layer(artifacts_dir: Path, python: str = sys.executable) -> Path:
    """The layer as `sam build` makes it (layers/core/Makefile), with ``python``
    compiling its bytecode; returns the directory Lambda mounts as /opt/python.
    The wheels are the arm64 ones Lambda runs (for sizes; ``build_host_layer``
    for a layer that imports on this machine)."""
    _quiet(["make", "--quiet", "-C", str(ROOT / "layers" / "core"), "build-CoreLayer",
            f"ARTIFACTS_DIR={artifacts_dir}", f"PYTHON_FOR_LAMBDA={python}"])
    return artifacts_dir / "python"


def build_host_layer(artifacts_dir: Path, python: str = sys.executable) -> Path:
    """The layer's locked packages (same versions as layers/core/requirements.txt)
    built for THIS machine, so they import here (pydantic_core is compiled: an
    arm64 wheel does not load on x86_64), our package beside them, bytecode
    compiled as layers/core/Makefile does. Returns the /opt/python directory. When ``python`` is this
    interpreter and has every pin installed at its version (the dev virtualenv does: `make lock` keeps
    them equal), the packages are copied from it, with no package index needed."""
    target = artifacts_dir / "python"
    pins = [line.split()[0] for line in (ROOT / "layers" / "core" / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")]
    if python != sys.executable or not _copy_installed(pins, target):
        _quiet([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                "--no-deps", "--only-binary=:all:", "--target", str(target), *pins])
    shutil.rmtree(target / "pydantic" / "v1", ignore_errors=True)  # as layers/core/Makefile prunes it
    shutil.copytree(ROOT / "layers" / "core" / "aculab_messaging", target / "aculab_messaging",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _quiet([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)])
    return target


def _copy_installed(pins: list[str], target: Path) -> bool:
    """Each pinned distribution's files (those its RECORD lists under site-packages: no scripts, no
    bytecode) copied from this interpreter into ``target``, as ``pip install --target`` lays them out.
    False, copying nothing, when a pin is not installed at its version."""
    from importlib import metadata

    found = []
    for pin in pins:
        name, _, version = pin.partition("==")
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return False
        if dist.version != version:
            return False
        found.append(dist)
    for dist in found:
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            if file.parts[0] == ".." or "__pycache__" in file.parts or not source.is_file():
                continue
            (target / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / file)
    return True


def _quiet(command: list[str]) -> None:
    """Run a build step; its chatter (pip's index warnings) shows only if it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


@dataclass
class SimulatorProcess:
    base_url: str
    control: Any


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    import time

    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def servers() -> Iterator[tuple[str, SimulatorProcess]]:
    """moto server and the simulator, each in its own process (as in the cloud,
    they do not share our process's CPU and GIL), on 127.0.0.1 random ports."""
    from simulator.control import SimulatorControl

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-1")
    aws_port, sim_port = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    moto = subprocess.Popen([sys.executable, "-m", "local.moto_server", "--port", str(aws_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim = subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(sim_port)], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        aws, sim_url = f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{sim_port}"
        _wait(f"{aws}/moto-api/")
        _wait(f"{sim_url}/_sim/health")
        yield aws, SimulatorProcess(sim_url, SimulatorControl(sim_url))
    finally:
        for proc in (moto, sim):
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def canned_aws_and_simulator(aws_latency_ms: float = 0.0) -> Iterator[dict[str, str]]:
    """bench.canned_aws (every AWS call answered at once, or after ``aws_latency_ms``) and the
    simulator, each in its own process: the environment that points a function at them."""
    aws_port, sim_port = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "bench.canned_aws", "--port", str(aws_port),
                               "--latency-ms", str(aws_latency_ms)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(sim_port)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait(f"http://127.0.0.1:{sim_port}/_sim/health")
        _wait(f"http://127.0.0.1:{aws_port}/")
        yield {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}", "ACULAB_BASE_URL": f"http://127.0.0.1:{sim_port}"}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


__all__ = ["ROOT", "SIM_CREDENTIALS", "Figure", "build_host_layer", "build_layer", "canned_aws_and_simulator", "median",
           "servers"]
