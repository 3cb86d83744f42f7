"""A release pushes exactly the image tags its packaged chart pulls by default.

The seam is walked with the real tools: the tag expressions are read from
release.yml and evaluated by bash for a tag push, `make -n images-push` says
what would be pushed, `make -n chart-push` says how the chart is packaged, the
real `helm package` packages it that way, and `helm template` of the package
says what a default install pulls.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, require_tool

RELEASE = REPO / ".github" / "workflows" / "release.yml"
TAG = "v1.2.3"

pytestmark = pytest.mark.workflows


def _make_call(target: str) -> tuple[str, str]:
    """The variable assignment release.yml passes to `make TARGET`."""
    for job in yaml.safe_load(RELEASE.read_text())["jobs"].values():
        for step in job["steps"]:
            match = re.search(rf"make {target} (\w+)=(\S+)", step.get("run", ""))
            if match:
                return match[1], match[2]
    raise AssertionError(f"release.yml never runs `make {target} VAR=...`")


def _evaluate(expression: str) -> str:
    """What bash makes of a tag expression on a push of TAG."""
    done = subprocess.run(
        ["bash", "-c", f"GITHUB_REF_NAME={TAG}; printf %s {expression}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return done.stdout


def _make_dry(target: str, assignment: str) -> str:
    return subprocess.run(
        ["make", "-n", target, assignment],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def _pushed_images(tmp_path: Path, image_tag: str) -> set[str]:
    """Run `make images-push` with a `docker` that only records its -t argument
    (no daemon here): the real loop of the Makefile decides the names."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pushed.txt"
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        f'while [ $# -gt 0 ]; do [ "$1" = -t ] && echo "$2" >> {log}; shift; done\n'
    )
    docker.chmod(0o755)
    subprocess.run(
        ["make", "images-push", f"IMAGE_TAG={image_tag}"],
        cwd=REPO,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        check=True,
        capture_output=True,
        timeout=30,
    )
    return set(log.read_text().split())


def test_pushed_image_tags_are_the_tags_the_packaged_chart_pulls(
    tmp_path: Path,
) -> None:
    helm = require_tool("helm")
    image_var, image_expr = _make_call("images-push")
    chart_var, chart_expr = _make_call("chart-push")
    assert (image_var, chart_var) == ("IMAGE_TAG", "CHART_VERSION")
    image_tag, chart_version = _evaluate(image_expr), _evaluate(chart_expr)

    pushed = _pushed_images(tmp_path, image_tag)
    assert pushed and all(ref.endswith(f":{image_tag}") for ref in pushed), pushed

    package = next(
        line
        for line in _make_dry(
            "chart-push", f"CHART_VERSION={chart_version}"
        ).splitlines()
        if line.startswith("helm package")
    )
    argv = shlex.split(package)
    argv[0] = helm
    argv[argv.index("-d") + 1] = str(tmp_path / "dist")
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True, timeout=60)
    [packaged] = (tmp_path / "dist").glob("shiplane-*.tgz")

    # Every component that runs a Shiplane image switched on.
    switches = [
        "router.enabled=true",
        "mlflow.trackingUri=http://m",
        "inferenceServices.m.model.mlflowUri=models:/m/1",
        "rollout.enabled=true",
        "rollout.inferenceService=m",
        "rollout.prometheusUrl=http://p",
        "training.job.enabled=true",
    ]
    rendered = subprocess.run(
        [helm, "template", "r", str(packaged)]
        + [arg for switch in switches for arg in ("--set", switch)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    pulled = {
        image
        for image in re.findall(r"image: \"?([^\s\"]+)", rendered)
        if "/shiplane/" in image or "/shiplane-" in image
    }
    assert pulled, "the packaged chart renders no Shiplane image"
    for image in pulled:
        assert image.endswith(f":{image_tag}"), (image, image_tag)
        name = image.split("/")[-1].split(":")[0]
        assert any(ref.split("/")[-1].split(":")[0] == name for ref in pushed), (
            f"{image} is pulled but the release never pushes {name}"
        )
