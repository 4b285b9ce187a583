"""`make demo`: the whole pipeline on the embedded defaults, step by step, on the bundled sample.

Each step is a real `evidence` command, run in-process, so what the demo shows is what a user gets.
"""

from __future__ import annotations

from rich.rule import Rule

from evidence.cli import app
from evidence.output import console
from frameworks.weights import example_weights_path

EDITION = "arab-2024"

STEPS: list[tuple[str, list[str]]] = [
    ("The edition frameworks", ["frameworks", "list"]),
    (f"The {EDITION} ladder", ["frameworks", "show", EDITION]),
    (f"The cities of {EDITION}", ["cities", "list", "--edition", EDITION]),
    ("Example expert weights, aggregated (invented for the demo)",
     ["weights", "aggregate", str(example_weights_path(EDITION)), "--edition", EDITION]),
    ("What this setup uses", ["doctor"]),
]


def main() -> None:
    for title, args in STEPS:
        console.print(Rule(f"[bold]{title}[/]  [dim]evidence {' '.join(args)}[/]"))
        app(args, standalone_mode=False)


if __name__ == "__main__":
    main()
