"""`trials-helper` command line: fetch studies, read them into facets, search for a profile.

Exit codes: 0 success, 1 a problem the message explains (registry, files, input), 2 bad usage.
Messages go to stderr; data goes to the output file or stdout.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import TrialsHelperError
from .guidance import CATEGORY_KEYS
from .search import PHASE_CHOICES

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


def _positive_int(text: str) -> int:
    """--max: a whole number of 1 or more (-1 silently dropped the last study, 0 was taken)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give 1 or more")
    return value


ANY_DISTANCE = "any"


def _radius(text: str) -> float | str:
    """--radius: a positive number, or 'any' for no limit (what the messages suggest). 0 is
    refused in both commands alike rather than meaning 'any' in one and an error in the other."""
    if text.strip().lower() == ANY_DISTANCE:
        return ANY_DISTANCE
    from .errors import LocationError
    from .geo import check_radius

    try:
        value = check_radius(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give one, or 'any'") from None
    except LocationError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    assert value is not None
    return value


def _limit(radius: float | str | None) -> float | None:
    """The distance limit a --radius value means (None: any distance)."""
    return None if radius is None or radius == ANY_DISTANCE else float(radius)


def _print_progress(fetched: int, total: int | None) -> None:
    if sys.stderr.isatty():
        of = f" of {total}" if total is not None else ""
        print(f"\rfetched {fetched}{of} studies...", end="", file=sys.stderr, flush=True)


def cmd_fetch(args: argparse.Namespace) -> int:
    from .client import RegistryClient, SearchQuery
    from .config import load_settings
    from .output import check_output
    from .snapshot import write_snapshot

    check_output(args.out)  # before the fetch, not after it
    settings = load_settings()
    query = SearchQuery(statuses=args.status, extra_terms=args.terms or "")
    if args.near:
        from .geo import geo_filter_param, geocode

        place = geocode(args.near)
        radius = _limit(100.0 if args.radius is None else args.radius)
        query = SearchQuery(
            statuses=args.status,
            extra_terms=args.terms or "",
            geo=geo_filter_param(place, radius, args.unit) if radius else None,
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
    from .output import check_output, write_error
    from .studies import load_studies

    if args.out and args.out != "-":
        check_output(args.out)
    studies = []
    for path in args.files:
        studies.extend(load_studies(path))
    if args.out and args.out != "-":
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as fh:
                n = write_facets_csv(studies, fh)
        except OSError as exc:
            raise write_error(args.out, exc) from exc
        print(f"Wrote facets of {n} studies to {args.out}.", file=sys.stderr)
    else:
        write_facets_csv(studies, sys.stdout)
    return EXIT_OK


def _location(args: argparse.Namespace):
    """LocationFilter from --near/--radius/--unit/--country/--state, or None."""
    from .geo import location_filter

    return location_filter(
        args.near,
        _limit(args.radius),
        args.unit,
        args.country,
        args.state,
        args.include_no_coordinates,
    )


def _profile(args: argparse.Namespace):
    from .profile import CHOICES, Profile

    base = Profile.load(args.profile).__dict__ if args.profile else {}
    flags = {
        name: getattr(args, name)
        for name in [*CHOICES, "age"]
        if getattr(args, name, None) is not None
    }
    return Profile.from_dict({**base, **flags})


def _search_progress(stage, done: int, total: int | None) -> None:
    if stage == "fetch":
        _print_progress(done, total)


def cmd_search(args: argparse.Namespace) -> int:
    """The app's search (trials_helper.pipeline.run_search), written as CSV, JSON or Markdown."""
    from .client import RegistryClient
    from .config import load_settings
    from .export import sidecar, sidecar_path, write_sites_csv
    from .output import check_output, write_output
    from .pipeline import DataRequest, SearchRequest, run_search
    from .search import SearchOptions

    for path in (args.out, args.sites_out):
        if path and path != "-":
            check_output(path)  # before the search, not after it
    request = SearchRequest(
        profile=_profile(args),
        location=_location(args),
        options=SearchOptions(
            phases=tuple(args.phase or ()),
            categories=tuple(args.category or ()),
            metastatic_only=not args.all_stages,
        ),
        data=DataRequest(
            statuses=args.status,
            extra_terms=args.terms or "",
            snapshot=args.from_snapshot or "",
            max_studies=args.max,
            offline=args.offline,
        ),
        refresh=args.refresh,
    )
    client = RegistryClient(load_settings())
    result = run_search(request, client=client, progress=_search_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    data = result.output(args.format)
    if args.out and args.out != "-":
        out = Path(args.out)
        write_output(out, data)
        write_output(sidecar_path(out), sidecar(result.record()))
        print(
            f"Wrote {len(result.rows)} trials to {out} "
            f"(query recorded in {sidecar_path(out).name}).",
            file=sys.stderr,
        )
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    if args.sites_out:
        frame = result.sites()
        write_sites_csv(frame, args.sites_out)
        print(f"Wrote {len(frame)} sites to {args.sites_out}.", file=sys.stderr)
    print(result.fetched.source_line(), file=sys.stderr)
    for note in (client.cache_note, result.dataset.note):
        if note:
            print(note, file=sys.stderr)
    if result.outcome.left_out:
        print(result.outcome.left_out_text(), file=sys.stderr)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from .export import diff_exports, read_export

    d = diff_exports(read_export(Path(args.old)), read_export(Path(args.new)))
    sys.stdout.write(d.text())
    return EXIT_OK


def _add_profile_flags(p: argparse.ArgumentParser) -> None:
    from .profile import CHOICES, LABELS

    group = p.add_argument_group("profile (every field may be left out = unknown)")
    group.add_argument("--profile", help="TOML or JSON file with profile fields; flags override")
    for name, choices in CHOICES.items():
        group.add_argument(
            f"--{name.replace('_', '-')}", dest=name, choices=choices, help=LABELS[name]
        )
    group.add_argument("--age", type=int, help="age in years")


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
    fetch.add_argument(
        "--near",
        help="only studies with a site near this ZIP code, city or 'lat,lon' (the registry's "
        "filter.geo: a narrower download for researchers; search filters places itself)",
    )
    fetch.add_argument(
        "--radius",
        type=_radius,
        default=None,
        help="with --near: distance limit, or 'any' (default 100)",
    )
    fetch.add_argument("--unit", choices=("mi", "km"), default="mi")
    fetch.add_argument("--terms", help="extra search words, e.g. 'trastuzumab deruxtecan'")
    fetch.add_argument("--max", type=_positive_int, help="stop after this many studies (says so)")
    fetch.add_argument("--refresh", action="store_true", help="ignore the cache")
    fetch.set_defaults(func=cmd_fetch)

    facets = sub.add_parser("facets", help="read studies into facets (CSV, one row per study)")
    facets.add_argument("files", nargs="+", help="API v2 JSON: a study, a list, or a page")
    facets.add_argument("--out", help="CSV file to write (default: stdout)")
    facets.set_defaults(func=cmd_facets)

    search = sub.add_parser(
        "search",
        help="find trials for a profile and write CSV / JSON / Markdown",
        description="Search recruiting metastatic breast cancer trials for a profile. Writes "
        "one row per trial (columns documented in docs/export.md).",
    )
    _add_profile_flags(search)
    where = search.add_argument_group("location")
    where.add_argument("--near", help="ZIP code, city (e.g. 'Boston, MA') or 'lat,lon'")
    where.add_argument(
        "--radius",
        type=_radius,
        default=None,
        help="distance limit from --near, or 'any' (the default)",
    )
    where.add_argument("--unit", choices=("mi", "km"), default="mi")
    where.add_argument("--country", help="keep trials recruiting in this country")
    where.add_argument("--state", help="keep trials recruiting in this state or region")
    where.add_argument(
        "--include-no-coordinates",
        action="store_true",
        help="also keep trials whose sites have no map location, at any --radius (labelled)",
    )
    filt = search.add_argument_group("filters")
    filt.add_argument(
        "--status",
        type=_status_values,
        default=("RECRUITING",),
        help="recruiting (default) or recruiting,not_yet_recruiting",
    )
    filt.add_argument(
        "--phase",
        action="append",
        choices=PHASE_CHOICES,
        help="keep only these phases (repeatable)",
    )
    filt.add_argument(
        "--category",
        action="append",
        choices=CATEGORY_KEYS,
        help="keep trials giving this kind of treatment (repeatable)",
    )
    filt.add_argument(
        "--all-stages", action="store_true", help="also list studies that read as early-stage only"
    )
    filt.add_argument("--terms", help="extra search words sent to the registry")
    data = search.add_argument_group("data")
    data.add_argument(
        "--from",
        dest="from_snapshot",
        metavar="SNAPSHOT",
        help="answer from a snapshot written by `trials-helper fetch`",
    )
    data.add_argument("--offline", action="store_true", help="answer from the cache only")
    data.add_argument("--refresh", action="store_true", help="ignore the cache")
    data.add_argument("--max", type=_positive_int, help="stop after this many studies (says so)")
    out = search.add_argument_group("output")
    out.add_argument("--format", choices=("csv", "json", "markdown"), default="csv")
    out.add_argument(
        "--out", help="file to write (default: stdout); a sidecar FILE.query.json records the query"
    )
    out.add_argument("--sites-out", help="also write one row per site to this CSV")
    search.set_defaults(func=cmd_search)

    diff = sub.add_parser("diff", help="compare two CSV exports: added, removed, changed")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(func=cmd_diff)
    return parser


def _quiet_library_logs() -> None:
    """Say things once, in the CLI's own words: the source line and cache note already tell
    what happened, and requests-cache logs a traceback with every correct stale answer."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_library_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "radius", None) is not None and not args.near:
        parser.error("--radius needs --near (the place the distance is measured from)")
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


def run() -> None:
    """The `trials-helper` command: main(), then exit with its code. What a command builds (a
    thousand studies, their readings, the rows) lives until the process ends, so the cyclic
    collector is left out: its passes over those objects found nothing to free and took about
    0.1 s of a search, and its last pass at exit a fifth of a second."""
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
