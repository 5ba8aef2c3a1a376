"""mkdocs hook: the benchmark plots committed under ``benchmarks/results`` are served as
``results/...``, so a study's page shows the plot that its command wrote, without a copy in docs/."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def on_files(files: Files, config) -> Files:
    for path in sorted(RESULTS.rglob("*.png")):
        files.append(File.generated(config, f"results/{path.relative_to(RESULTS).as_posix()}", abs_src_path=str(path)))
    return files
