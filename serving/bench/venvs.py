"""Virtual environments of their own for what must not touch the project's
``.venv``: MLServer (it pins its own stack, and uvloop 0.21) and py-spy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

_STAMP = ".bench-requirements"


class VenvError(RuntimeError):
    """uv could not build the environment; the message quotes uv."""


def ensure_venv(path: Path, requirements: list[str]) -> Path:
    """A venv at ``path`` holding ``requirements``, built with uv unless the
    same requirements are already in place; returns its ``bin`` folder."""
    stamp = path / _STAMP
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted:
        return path / "bin"
    uv = shutil.which("uv")
    if uv is None:
        raise VenvError("uv is not on PATH (make uv installs it)")
    for argv in (
        [uv, "venv", "--quiet", "--allow-existing", "--python", "3.11", str(path)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(path / "bin" / "python"),
            *requirements,
        ],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise VenvError(f"{' '.join(argv)} failed:\n{done.stderr.strip()[-2000:]}")
    stamp.write_text(wanted)
    return path / "bin"


def installed_versions(bin_dir: Path, distributions: list[str]) -> dict[str, str]:
    """Versions of ``distributions`` inside a venv (absent ones are left out)."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", code, *distributions],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {}
    versions: dict[str, str] = json.loads(done.stdout)
    return versions
