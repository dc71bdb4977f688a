"""The README's layout table matches the tree: one row per top-level folder, and every
file or folder a row names exists (under the row's folder, or from the root)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def layout_rows() -> dict[str, str]:
    """Folder -> its row's text, from the table headed ``| folder | what lives there |``."""
    lines = (ROOT / "README.md").read_text().splitlines()
    first = lines.index("| folder | what lives there |")
    rows: dict[str, str] = {}
    for line in lines[first + 2:]:
        if not line.startswith("|"):
            break
        folder, text = (cell.strip() for cell in line.split("|")[1:3])
        rows[folder.strip("`").rstrip("/")] = text
    return rows


def tracked_folders() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {f.split("/")[0] for f in files if "/" in f and not f.startswith(".")}


def test_every_top_level_folder_has_a_row_and_every_row_a_folder():
    assert set(layout_rows()) == tracked_folders()


def test_every_path_a_row_names_exists():
    missing = []
    for folder, text in layout_rows().items():
        for name in re.findall(r"`([A-Za-z0-9_./-]+(?:\.py|\.txt|\.html|\.js|\.css|/))`", text):
            if not ((ROOT / folder / name).exists() or (ROOT / name).exists()):
                missing.append(f"{folder}/: {name}")
    assert not missing, missing
