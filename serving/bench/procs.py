"""Memory of a server as the operating system sees it: the resident set size
summed over the whole process tree (MLServer's inference worker, the uvicorn
child of ``mlflow models serve``, ...), read from /proc."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants alive right now."""
    children = _children_map()
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_bytes(pid: int) -> int:
    """Resident set size of one process, 0 if it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_mb(root_pid: int) -> float:
    """RSS of ``root_pid`` and its descendants together, in MiB."""
    return sum(rss_bytes(pid) for pid in process_tree(root_pid)) / 2**20
