"""Time the Symile-MIMIC cohort step on synthetic trees, stage by stage.

    python benchmarks/mimic_cohort.py                       # 3,000 and 20,000 admissions
    python benchmarks/mimic_cohort.py --lab-rows 100000000  # + lab selection at full scale
    python benchmarks/mimic_cohort.py --sizes 3000 --baseline  # + the slow reference

Trees are written by `fake-mimic` into --workdir (default /tmp/symile-mimic-bench) and reused
by later runs; they are synthetic and never committed. Targets (2 cores): 3,000 admissions
under 5 s, 20,000 under 30 s, lab selection on 100 million labevents rows under 4 GB peak RSS.
The slow reference (`builders/mimic/reference.py`: a loop over admissions and
`wfdb.rdrecord` on every ECG record, like the release's script) gives the side-by-side ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {3000: 5.0, 20000: 30.0}
RSS_TARGET_GB = 4.0
LABS_PER_ADMISSION = 250


def tree(workdir: Path, admissions: int, media: bool = True, labs: int = 40) -> Path:
    from builders.mimic.build.fake import generate

    name = f"fake-{admissions}" if media else f"fake-tables-{admissions}x{labs}"
    root = workdir / name
    if (root / "fake_cases.json").is_file():
        return root
    if root.exists():
        import shutil

        shutil.rmtree(root)
    began = time.perf_counter()
    summary = generate(root, admissions, seed=0, labs_per_admission=labs, media=media)
    print(
        f"  wrote {root} in {time.perf_counter() - began:.1f} s: {summary.admissions:,} "
        f"admissions, {summary.ecg_records:,} ECG records, {summary.cxr_images:,} CXR "
        f"images, {summary.lab_rows:,} lab rows"
    )
    return root


def sources(root: Path):
    from builders.mimic.build.sources import locate

    return locate(root / "mimiciv/2.2", root / "mimic-iv-ecg/1.0", root / "mimic-cxr-jpg/2.0.0")


def count_rows(path: Path) -> int:
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        path, convert_options=pacsv.ConvertOptions(include_columns=["subject_id"])
    ).num_rows


def cohort_run(root: Path, threads: int | None) -> tuple[float, dict]:
    from builders.mimic.build.assemble import assemble
    from builders.mimic.build.cohort import select
    from builders.mimic.build.config import MimicConfig

    src = sources(root)
    began = time.perf_counter()
    sel = select(src, threads)
    mid = time.perf_counter()
    _, report = assemble(sel, MimicConfig(), 0)
    total = time.perf_counter() - began
    stages = dict(sel.timings)
    stages["assemble"] = time.perf_counter() - mid
    rows = {
        "admissions": report["admissions"]["total"],
        "ecg": count_rows(src.record_list),
        "cxr": count_rows(src.cxr_metadata),
        "labs": report["labevents"]["rows"],
        "assemble": report["admissions"]["total"],
    }
    print(f"  {'stage':<11}{'seconds':>9}{'rows':>13}{'rows/s':>14}")
    for stage, seconds in stages.items():
        print(f"  {stage:<11}{seconds:>9.2f}{rows[stage]:>13,}{rows[stage] / seconds:>14,.0f}")
    checked = report["records_checked"]
    print(
        f"  (ECG records read, in some window: {checked['ecg_in_window']:,}; JPGs checked: "
        f"{checked['cxr_images_in_window']:,}; labs run in a thread beside ECG and CXR)"
    )
    return total, report


def lab_scale(workdir: Path, rows: int) -> None:
    admissions = max(1000, rows // LABS_PER_ADMISSION)
    root = tree(workdir, admissions, media=False, labs=LABS_PER_ADMISSION)
    script = (
        "import json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from builders.mimic.build.cohort import Counter, load_admissions, select_labs\n"
        "from builders.mimic.build.sources import locate\n"
        "root = Path(sys.argv[1])\n"
        "src = locate(root / 'mimiciv/2.2', root / 'mimic-iv-ecg/1.0',\n"
        "             root / 'mimic-cxr-jpg/2.0.0')\n"
        "adm = load_admissions(src, Counter())\n"
        "t = time.perf_counter()\n"
        "labs = select_labs(adm, src.labevents)\n"
        "seconds = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20\n"
        "print(json.dumps({'seconds': seconds, 'rss_gb': rss, 'stats': labs.stats,\n"
        "                  'admissions': len(adm)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    n = result["stats"]["rows"]
    verdict = "ok" if result["rss_gb"] < RSS_TARGET_GB else "OVER TARGET"
    print(
        f"  lab selection: {n:,} labevents rows ({result['admissions']:,} admissions) in "
        f"{result['seconds']:.1f} s = {n / result['seconds']:,.0f} rows/s; peak RSS "
        f"{result['rss_gb']:.2f} GB (target < {RSS_TARGET_GB:.0f} GB: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3000,20000", help="admissions per tree")
    parser.add_argument(
        "--lab-rows",
        type=int,
        default=0,
        help="also time lab selection on a labevents of this many rows",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/symile-mimic-bench"))
    parser.add_argument("--threads", type=int, default=None, help="ECG/JPG reader threads")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also time the slow reference implementation (minutes)",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",") if s):
        print(f"cohort on {size:,} admissions")
        root = tree(args.workdir, size)
        seconds, report = cohort_run(root, args.threads)
        target = TARGETS.get(size)
        verdict = (
            ""
            if target is None
            else f" (target < {target:.0f} s: " + ("ok)" if seconds < target else "OVER TARGET)")
        )
        print(
            f"  cohort step: {seconds:.2f} s{verdict}; kept {report['admissions']['kept']:,}"
            f" of {report['admissions']['total']:,} admissions"
        )
        if args.baseline:
            from builders.mimic.build.reference import reference_cohort

            began = time.perf_counter()
            reference_cohort(sources(root))
            slow = time.perf_counter() - began
            print(
                f"  slow reference (per-admission loop, wfdb.rdrecord on every record): "
                f"{slow:.1f} s = {slow / seconds:.0f}x the cohort step"
            )
    if args.lab_rows:
        print(f"lab selection on {args.lab_rows:,} labevents rows")
        lab_scale(args.workdir, args.lab_rows)


if __name__ == "__main__":
    main()
