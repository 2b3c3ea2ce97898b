"""`trials-helper` command line: fetch studies, read them into facets, search for a profile.

Exit codes: 0 success, 1 a problem the message explains (registry, files, input), 2 bad usage.
Messages go to stderr; data goes to the output file or stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import TrialsHelperError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _status_values(text: str) -> tuple[str, ...]:
    allowed = {"recruiting": "RECRUITING", "not_yet_recruiting": "NOT_YET_RECRUITING"}
    out = []
    for part in text.replace(" ", "").lower().split(","):
        if part not in allowed:
            raise argparse.ArgumentTypeError(
                f"unknown status {part!r}; use recruiting, not_yet_recruiting or both "
                "separated by a comma"
            )
        out.append(allowed[part])
    return tuple(dict.fromkeys(out))


def _print_progress(fetched: int, total: int | None) -> None:
    if sys.stderr.isatty():
        of = f" of {total}" if total is not None else ""
        print(f"\rfetched {fetched}{of} studies...", end="", file=sys.stderr, flush=True)


def cmd_fetch(args: argparse.Namespace) -> int:
    from .client import RegistryClient, SearchQuery
    from .config import load_settings
    from .snapshot import write_snapshot

    settings = load_settings()
    query = SearchQuery(statuses=args.status, extra_terms=args.terms or "")
    if args.near:
        from .geo import geo_filter_param, geocode

        place = geocode(args.near)
        query = SearchQuery(
            statuses=args.status,
            extra_terms=args.terms or "",
            geo=geo_filter_param(place, args.radius, args.unit),
        )
    client = RegistryClient(settings)
    result = client.fetch(
        query, max_studies=args.max, refresh=args.refresh, progress=_print_progress
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    write_snapshot(result, Path(args.out))
    print(result.source_line(), file=sys.stderr)
    print(f"Wrote {result.fetched} studies to {args.out}.", file=sys.stderr)
    if client.cache_status.note:
        print(client.cache_status.note, file=sys.stderr)
    return EXIT_OK


def cmd_facets(args: argparse.Namespace) -> int:
    from .facets import write_facets_csv
    from .studies import load_studies

    studies = []
    for path in args.files:
        studies.extend(load_studies(path))
    if args.out and args.out != "-":
        with open(args.out, "w", encoding="utf-8", newline="") as fh:
            n = write_facets_csv(studies, fh)
        print(f"Wrote facets of {n} studies to {args.out}.", file=sys.stderr)
    else:
        write_facets_csv(studies, sys.stdout)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trials-helper",
        description="Find and read recruiting metastatic breast cancer trials on "
        "ClinicalTrials.gov. Informs a conversation with an oncologist; "
        "it is not medical advice.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fetch = sub.add_parser("fetch", help="download every matching study as a JSON snapshot")
    fetch.add_argument("--out", required=True, help="JSON file to write (a list of studies)")
    fetch.add_argument(
        "--status",
        type=_status_values,
        default=("RECRUITING",),
        help="recruiting (default), not_yet_recruiting, or both: recruiting,not_yet_recruiting",
    )
    fetch.add_argument("--near", help="ZIP code, city (e.g. 'Boston, MA') or 'lat,lon'")
    fetch.add_argument(
        "--radius", type=float, default=100.0, help="with --near: distance limit (default 100)"
    )
    fetch.add_argument("--unit", choices=("mi", "km"), default="mi")
    fetch.add_argument("--terms", help="extra search words, e.g. 'trastuzumab deruxtecan'")
    fetch.add_argument("--max", type=int, help="stop after this many studies (says so)")
    fetch.add_argument("--refresh", action="store_true", help="ignore the cache")
    fetch.set_defaults(func=cmd_fetch)

    facets = sub.add_parser("facets", help="read studies into facets (CSV, one row per study)")
    facets.add_argument("files", nargs="+", help="API v2 JSON: a study, a list, or a page")
    facets.add_argument("--out", help="CSV file to write (default: stdout)")
    facets.set_defaults(func=cmd_facets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TrialsHelperError as exc:
        print(f"trials-helper: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("trials-helper: stopped.", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
