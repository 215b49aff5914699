"""The `regstudy prepare` and `regstudy synth` sub-commands (registered by pipeline.cli)."""
from __future__ import annotations

import argparse
import sys

from .errors import DataError
from .images import DEFAULT_RESAMPLE, RESAMPLE
from .layouts import FLOWERS_LAYOUT, OFFICE31_LAYOUT

DATASETS = ("flowers", "office31")


def register(subparsers):
    p = subparsers.add_parser(
        "prepare", help="image folder -> cached .npz the trainer reads",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Decode an image folder into one cache file (uint8 RGB images, labels, "
                    "names, source hashes) plus FILE.manifest.json listing counts and every "
                    "skipped file with its reason. An up-to-date cache is reused; it is rebuilt "
                    "when a source file was added, removed or changed.",
        epilog=f"layouts:\n  flowers   {FLOWERS_LAYOUT}\n  office31  {OFFICE31_LAYOUT}\n"
               "files: .jpg/.jpeg/.png in any case; every other file is tried and, if it is "
               "not an image, skipped and listed.")
    p.add_argument("dataset", choices=DATASETS, help="which layout ROOT follows")
    p.add_argument("root", metavar="ROOT", help="the data set folder (see layouts below)")
    p.add_argument("--out", required=True, metavar="FILE.npz",
                   help="cache file to write (the manifest goes beside it)")
    p.add_argument("--size", default="96", metavar="N|HxW",
                   help="resize every image to N x N (or H x W) pixels (default: 96)")
    p.add_argument("--resample", default=DEFAULT_RESAMPLE, choices=sorted(RESAMPLE),
                   help=f"Pillow resampling filter (default: {DEFAULT_RESAMPLE}, the reference's "
                        "filter on Pillow >= 7; 'nearest' matches Pillow < 7)")
    p.add_argument("--jpeg-quality", type=int, default=None, metavar="Q",
                   help="after resizing, re-encode every image once as JPEG at quality Q "
                        "(1..100) and decode it again (default: no re-encode)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="decoding threads (default: the CPUs this process may use)")
    p.add_argument("--force", action="store_true",
                   help="rebuild even if the cache is up to date")
    p.set_defaults(func=run_prepare)

    s = subparsers.add_parser(
        "synth", help="write a generated stand-in data set folder",
        description="Draw a stand-in data set procedurally and write it as JPEG files in the "
                    "real folder layout, so `regstudy prepare` reads it exactly as the real "
                    "one. Deterministic for a seed. OUTDIR must be new, empty, or an earlier "
                    "stand-in (it is replaced as a whole).")
    s.add_argument("dataset", choices=DATASETS,
                   help="flowers: 5 classes; office31: 3 domain styles x 31 objects")
    s.add_argument("outdir", metavar="OUTDIR", help="folder to write (the data set ROOT)")
    s.add_argument("--seed", type=int, default=0, help="generation seed (default: 0)")
    s.add_argument("--per-class", type=int, default=None, metavar="N",
                   help="images per label folder (default: flowers the real per-class counts, "
                        "764/1052/784/733/984; office31 each domain's real count, "
                        "2817/498/795, spread evenly over the 31 objects)")
    s.add_argument("--size", type=int, default=96, metavar="PX",
                   help="image side in pixels (default: 96; webcam images are 4:3, PX high)")
    s.add_argument("--workers", type=int, default=None, metavar="N",
                   help="drawing processes (default: the CPUs this process may use)")
    s.set_defaults(func=run_synth)


def _fail(command, exc):
    print(f"regstudy {command}: error: {exc}", file=sys.stderr)
    return 1


def run_prepare(args):
    from .prepare import prepare
    try:
        prepare(args.dataset, args.root, args.out, args.size, resample=args.resample,
                jpeg_quality=args.jpeg_quality, workers=args.workers, force=args.force)
    except (DataError, ValueError) as exc:
        return _fail("prepare", exc)
    return 0


def run_synth(args):
    from .synth import synthesize
    try:
        synthesize(args.dataset, args.outdir, seed=args.seed, per_class=args.per_class,
                   size=args.size, workers=args.workers)
    except (DataError, ValueError) as exc:
        return _fail("synth", exc)
    return 0
