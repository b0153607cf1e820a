"""``python -m rnn_widgets.zoo {list, train NAME..., evaluate NAME...}``."""

from __future__ import annotations

import argparse
import sys

from ._recipes import RECIPES
from ._zoo import evaluate, info, names, train_and_save


def main(argv: list[str] | None = None) -> int:
    """Run the zoo's command line."""
    parser = argparse.ArgumentParser(prog="python -m rnn_widgets.zoo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the shipped models and their held-out figures")
    trainer = commands.add_parser("train", help="retrain models from their recipes (seeded)")
    trainer.add_argument("names", nargs="+", help="model names, or 'all'")
    trainer.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    evaluator = commands.add_parser("evaluate", help="measure shipped models on held-out data")
    evaluator.add_argument("names", nargs="+", help="model names, or 'all'")
    args = parser.parse_args(argv)

    if args.command == "list":
        print("| model | architecture | held-out metric | floor | size | training |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name in names():
            try:
                meta = info(name)
            except FileNotFoundError:
                print(f"| {name} | (not trained) | | | | |")
                continue
            spec = meta.spec
            relation = ">=" if meta.higher_is_better else "<="
            state = f" (state {spec.state_size})" if spec.state_size is not None else ""
            print(
                f"| `{name}` | {spec.family.upper()} {spec.layers} x {spec.hidden}{state}, "
                f"{meta.parameters:,} parameters | {meta.metric_name} {meta.metric:.4f} | "
                f"{relation} {meta.floor} | {meta.size_bytes / 1024:.0f} KiB | "
                f"{meta.steps} steps, {meta.training_seconds:.0f} s |"
            )
        return 0
    chosen = list(names()) if args.names == ["all"] else args.names
    unknown = [name for name in chosen if name not in RECIPES]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(names())}")
    for name in chosen:
        try:
            if args.command == "train":
                meta = train_and_save(name, steps=args.steps)
                verdict = "meets" if RECIPES[name].meets_floor(meta.metric) else "MISSES"
                print(
                    f"{name}: {meta.metrics} in {meta.training_seconds:.0f} s; {verdict} the floor"
                )
            else:
                print(f"{name}: {evaluate(name)}")
        except ImportError as error:  # a model of an extra this install lacks: name the extra
            parser.error(f"{name}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
