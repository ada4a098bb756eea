"""The table of known datasets, data-root resolution and :func:`load_dataset`.

Where a dataset is looked for, in order:

1. ``--root PATH`` (the ``root`` argument): exactly that folder, or, for a dataset whose spec
   lists ``file_suffixes`` (OTB and VOT: ``.json``), that annotation file (pysot's
   ``VOT2018.json``, ``OTB2015.json``); any other file, a broken symbolic link or a link loop is
   an error saying what the path is;
2. ``$SIAMBENCH_DATA/<folder>`` for each of the dataset's folder names;
3. ``./datasets/<folder>`` (relative to the working directory) for each folder name.

The synthetic benchmark is generated on first use into ``root`` when given, else into the user
cache (``$SIAMBENCH_CACHE``, else ``$XDG_CACHE_HOME/siambench``, else ``~/.cache/siambench``).
Third-party loaders register a :class:`DatasetSpec` through the entry-point group
``siambench.datasets``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from siambench.datasets.base import Dataset
from siambench.errors import DatasetNotFoundError, UnknownNameError
from siambench.fileio import path_kind
from siambench.names import canonical_key

ENTRY_POINT_GROUP = "siambench.datasets"


@dataclass(frozen=True)
class DatasetSpec:
    """How to find and load one dataset.

    ``loader`` is ``"module:function"``; the function is called as ``function(root, variant)``
    and returns a :class:`Dataset`. ``folders`` are the folder names looked for under the data
    roots; ``folder_structure`` is the expected folder structure (text), shown when the
    dataset is not found.
    ``origin`` is the pixel index of the image's first column/row in the ground truth: 1 for
    the MATLAB-era benchmarks (OTB, UAV123, LaSOT, and the synthetic benchmark's OTB layout), 0
    for VOT (as pysot and the VOT toolkit use it) and GOT-10k. Trackers work in 0-based array
    coordinates; the run protocols shift boxes by ``origin`` on the way in and out.
    ``file_suffixes``: suffixes (lower case, with the dot) of a file the loader accepts as
    ``root`` itself, e.g. ``(".json",)`` for a pysot-style annotation file; empty: folders only.
    ``split``: ``"train"``, ``"validation"`` or ``"test"`` (a benchmark papers report on; what
    ``siambench tune`` warns about tuning on).
    """

    name: str
    loader: str
    variant: str
    folders: tuple[str, ...]
    description: str
    folder_structure: str
    protocol: str
    aliases: tuple[str, ...] = ()
    generated: bool = False
    origin: int = 1
    file_suffixes: tuple[str, ...] = ()
    split: str = "test"

    def load_function(self) -> Callable[[Path, str], Dataset]:
        module_name, _, function = self.loader.partition(":")
        return getattr(importlib.import_module(module_name), function)


_OTB_FOLDER_STRUCTURE = ("<root>/<Seq>/img/0001.jpg ... and <root>/<Seq>/groundtruth_rect.txt "
                         "(two-target sequences: groundtruth_rect.1.txt, .2.txt); or, to score only, the "
                         "OTB toolkit's annotation folder <root>/<Seq>.txt (+ att/<Seq>.txt), or a "
                         "pysot-style <root>/OTB2015.json / OTB100.json")
_VOT_FOLDER_STRUCTURE = ("<root>/list.txt, <root>/<seq>/groundtruth.txt, frames in <root>/<seq>/color/"
                         "00000001.jpg (or directly in <root>/<seq>/), optional <seq>/*.tag; or a "
                         "pysot-style <root>/VOT2018.json")
_GOT_FOLDER_STRUCTURE = ("<root>/{split}/list.txt and <root>/{split}/GOT-10k_{Split}_000001/00000001.jpg, "
                         "groundtruth.txt, absence.label, cover.label, cut_by_image.label, meta_info.ini "
                         "(<root> may also be the {split} folder itself)")
_LASOT_FOLDER_STRUCTURE = ("<root>/<class>/<class>-<n>/img/00000001.jpg, groundtruth.txt, "
                           "full_occlusion.txt, out_of_view.txt (or <root>/<class>-<n>/... without the "
                           "class level)")
_UAV_FOLDER_STRUCTURE = ("<root>/data_seq/UAV123/<folder>/000001.jpg and <root>/anno/UAV123/<seq>.txt; or "
                         "just the annotation folder (anno/UAV123/ or a flat folder of <seq>.txt) to score")
_UAV10_FOLDER_STRUCTURE = ("<root>/data_seq/UAV123_10fps/<folder>/000001.jpg and "
                           "<root>/anno/UAV123_10fps/<seq>.txt (or <root>/<seq>/000001.jpg beside "
                           "<root>/<seq>.txt); or just the annotation folder to score")
_SYNTH_FOLDER_STRUCTURE = "generated automatically; or `siambench data synth --out DIR` and --root DIR"

_BUILTIN: tuple[DatasetSpec, ...] = (
    DatasetSpec("synthetic", "siambench.datasets.synthetic:load", "test", ("synthetic",),
                "embedded synthetic benchmark, test split (generated on first use)",
                _SYNTH_FOLDER_STRUCTURE, "ope", aliases=("synthetic-test",), generated=True),
    DatasetSpec("synthetic-train", "siambench.datasets.synthetic:load", "train",
                ("synthetic-train",), "embedded synthetic benchmark, train split",
                _SYNTH_FOLDER_STRUCTURE, "ope", generated=True, split="train"),
    DatasetSpec("synthetic-val", "siambench.datasets.synthetic:load", "val",
                ("synthetic-val",), "embedded synthetic benchmark, validation split (training "
                "validates on it)", _SYNTH_FOLDER_STRUCTURE, "ope", generated=True,
                split="validation"),
    DatasetSpec("otb2013", "siambench.datasets.otb:load", "otb2013",
                ("OTB2013", "OTB100", "OTB2015", "OTB"), "OTB-2013 (CVPR13), 51 targets",
                _OTB_FOLDER_STRUCTURE, "ope", aliases=("cvpr13", "otb-2013"), file_suffixes=(".json",)),
    DatasetSpec("otb50", "siambench.datasets.otb:load", "otb50",
                ("OTB50", "OTB100", "OTB2015", "OTB"), "TB-50, the harder half of OTB-100",
                _OTB_FOLDER_STRUCTURE, "ope", aliases=("tb50",), file_suffixes=(".json",)),
    DatasetSpec("otb100", "siambench.datasets.otb:load", "otb100",
                ("OTB100", "OTB2015", "OTB"), "OTB-2015 / OTB-100 / TB-100, 100 targets",
                _OTB_FOLDER_STRUCTURE, "ope", aliases=("otb2015", "tb100", "otb-100", "otb-2015"),
                file_suffixes=(".json",)),
    *(DatasetSpec(f"vot{year}", "siambench.datasets.vot:load", f"vot{year}",
                  (f"VOT{year}", f"vot{year}"), f"VOT{year} short-term (supervised reset)",
                  _VOT_FOLDER_STRUCTURE, f"vot{year}", origin=0, file_suffixes=(".json",))
      for year in (2016, 2017, 2018, 2019)),
    *(DatasetSpec(f"got10k-{split}", "siambench.datasets.got10k:load", split,
                  ("GOT-10k", "GOT10k", "got10k"), f"GOT-10k {split} split",
                  _GOT_FOLDER_STRUCTURE.format(split=split, Split=split.capitalize()),
                  "ope" if split == "train" else "got10k", origin=0,
                  split={"train": "train", "val": "validation"}.get(split, "test"))
      for split in ("train", "val", "test")),
    DatasetSpec("lasot", "siambench.datasets.lasot:load", "test", ("LaSOT", "LaSOTTest", "lasot"),
                "LaSOT test split, 280 sequences", _LASOT_FOLDER_STRUCTURE, "lasot",
                aliases=("lasot-test",)),
    DatasetSpec("lasot-train", "siambench.datasets.lasot:load", "train", ("LaSOT", "lasot"),
                "LaSOT train split, 1120 sequences", _LASOT_FOLDER_STRUCTURE, "lasot",
                split="train"),
    DatasetSpec("uav123", "siambench.datasets.uav:load", "uav123", ("UAV123", "uav123"),
                "UAV123, 123 sub-sequences at 30 fps", _UAV_FOLDER_STRUCTURE, "uav123"),
    DatasetSpec("uav20l", "siambench.datasets.uav:load", "uav20l", ("UAV123", "UAV20L", "uav123"),
                "UAV20L, 20 long sequences", _UAV_FOLDER_STRUCTURE, "uav123"),
    DatasetSpec("uav123-10fps", "siambench.datasets.uav:load", "uav123-10fps",
                ("UAV123_10fps", "UAV123-10fps", "UAV123"),
                "UAV123@10fps, every third frame", _UAV10_FOLDER_STRUCTURE, "uav123",
                aliases=("uav123@10fps", "uav12310fps")),
    *(DatasetSpec(name, "siambench.datasets.trackingnet:load", variant,
                  ("TrackingNet", "trackingnet"), description,
                  "<root>/TEST/anno/<seq>.txt, <root>/TEST/frames/<seq>/0.jpg, 1.jpg, ...; "
                  "<root>/TRAIN_<k>/anno/<seq>.txt, <root>/TRAIN_<k>/frames/<seq>/0.jpg, ... "
                  "(<root> may also be one chunk folder: TEST or TRAIN_<k>)", "trackingnet",
                  aliases=aliases, origin=0, split="test" if variant == "test" else "train")
      for name, variant, description, aliases in (
          ("trackingnet", "test", "TrackingNet test split, 511 sequences (first box only: "
           "score with `siambench pack` on the server)", ("trackingnet-test",)),
          ("trackingnet-train", "train", "TrackingNet train chunks TRAIN_0 ... TRAIN_11 "
           "(those present)", ()),
          *((f"trackingnet-train-{k}", f"train-{k}", f"TrackingNet train chunk TRAIN_{k}", ())
            for k in range(12)))),
    *(DatasetSpec(name, "siambench.datasets.nfs:load", name, ("NFS", "NfS", "nfs"),
                  f"Need for Speed (NfS), 100 sequences at {fps} fps", f"<root>/<seq>/{fps}/<seq>/"
                  f"00001.jpg and <root>/<seq>/{fps}/<seq>.txt (VATIC rows: track x1 y1 x2 y2 frame "
                  "lost occluded generated \"label\"); without the frame folder: scoring only",
                  "ope", aliases=aliases, origin=0)
      for name, fps, aliases in (("nfs30", 30, ("nfs", "nfs-30", "nfs30fps")),
                                 ("nfs240", 240, ("nfs-240", "nfs240fps")))),
    *(DatasetSpec(name, "siambench.datasets.tc128:load", name,
                  ("TC128", "Temple-color-128", "TColor-128", "TC-128"), description,
                  "<root>/<seq>/img/0001.jpg, <root>/<seq>/<seq>_gt.txt, <seq>_frames.txt "
                  "(start,end), optional <seq>_att.txt (or pytracking's <root>/tpl_<seq>/...); "
                  "without img/: scoring only", "ope", aliases=aliases)
      for name, description, aliases in (
          ("tc128", "Temple-Color-128, 129 sequences", ("tcolor128", "temple-color-128")),
          ("tc128-ce", "TC128-ce: the 78 sequences TC128 added to OTB (names with _ce)",
           ("tc128ce", "tcolor128-ce")))),
    DatasetSpec("dtb70", "siambench.datasets.dtb70:load", "dtb70", ("DTB70", "dtb70"),
                "DTB70, 70 drone sequences", "<root>/<seq>/img/00001.jpg and "
                "<root>/<seq>/groundtruth_rect.txt; without img/: scoring only", "ope",
                aliases=("dtb", "dtb-70")),
    DatasetSpec("uavdt", "siambench.datasets.uavdt:load", "uavdt", ("UAVDT", "uavdt"),
                "UAVDT single-object split, 50 sequences", "<root>/UAV-benchmark-S/<seq>/"
                "img000001.jpg and <root>/UAV-benchmark-SOT_v1.0/anno/<seq>_gt.txt (+ anno/att/"
                "<seq>_att.txt); or just UAV-benchmark-SOT_v1.0 (or its anno/) to score", "ope",
                aliases=("uavdt-sot", "uavdt-s")),
    DatasetSpec("lasot-ext", "siambench.datasets.lasot:load", "extension",
                ("LaSOT_extension_subset", "LaSOTExt", "LaSOT-ext", "lasot_ext"),
                "LaSOT extension, 150 sequences of 15 new classes", _LASOT_FOLDER_STRUCTURE,
                "lasot", aliases=("lasot-extension", "lasotext", "lasot-extension-subset")),
    DatasetSpec("imagenet-vid", "siambench.datasets.imagenet_vid:load", "train",
                ("ILSVRC2015", "ILSVRC", "imagenet-vid", "VID"), "ImageNet VID train + val videos "
                "(training), one sequence per track", "<root>/ILSVRC2015/Data/VID/{train/"
                "ILSVRC2015_VID_train_000N,val}/<video>/000000.JPEG and the same under Annotations/VID/ "
                "as .xml (<root> may be ILSVRC2015/ itself)", "ope", aliases=("vid", "ilsvrc2015-vid"),
                origin=0, split="train"),
    DatasetSpec("youtube-bb", "siambench.datasets.youtube_bb:load", "train",
                ("youtube-bb", "YouTube-BB", "yt_bb", "youtubebb"), "YouTube-BoundingBoxes detection "
                "train set (training), one sequence per object track", "<root>/yt_bb_detection_train.csv "
                "and <root>/yt_bb_detection_train/<class_id>/<youtube_id>_<timestamp_ms>_<class_id>_"
                "<object_id>.jpg", "ope", aliases=("ytbb", "youtubebb"), origin=0, split="train"),
    DatasetSpec("coco", "siambench.datasets.coco:load", "train2017", ("COCO", "coco", "coco2017"),
                "COCO 2017 train images (training), one 1-frame sequence per object",
                "<root>/annotations/instances_train2017.json and <root>/train2017/<image>.jpg", "ope",
                aliases=("coco2017",), origin=0, split="train"),
    DatasetSpec("imagenet-det", "siambench.datasets.imagenet_det:load", "train",
                ("ILSVRC2015", "ILSVRC", "imagenet-det", "DET"), "ImageNet DET train images "
                "(training), one 1-frame sequence per object", "<root>/ILSVRC2015/Data/DET/train/"
                "<subset>/.../<image>.JPEG and the same under Annotations/DET/train/ as .xml (<root> "
                "may be ILSVRC2015/ itself)", "ope", aliases=("det",), origin=0, split="train"),
    *(DatasetSpec(f"vot-lt{year}", "siambench.datasets.votlt:load", f"vot-lt{year}",
                  (f"VOT{year}-LT", f"VOT-LT{year}", f"votlt{year}", f"vot{year}-lt"),
                  f"VOT-LT{year} long-term, {count} sequences (one pass, confidences scored)",
                  "<root>/list.txt, <root>/<seq>/groundtruth.txt (nan rows where the target is "
                  "absent), frames in <root>/<seq>/color/00000001.jpg", f"vot-lt{year}",
                  aliases=(f"votlt{year}", f"vot{year}-lt", f"vot-lt{year % 100}",
                           f"votlt{year % 100}", f"vot{year % 100}-lt"), origin=0)
      for year, count in ((2018, 35), (2019, 50))),
)


def _all_specs() -> list[DatasetSpec]:
    specs = list(_BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        spec = entry.load()
        if not isinstance(spec, DatasetSpec):
            raise UnknownNameError(f"entry point {entry.name!r} of group {ENTRY_POINT_GROUP} "
                                   "must be a siambench.datasets.DatasetSpec")
        specs.append(spec)
    return specs


def list_datasets() -> list[DatasetSpec]:
    """Every known dataset: the built-ins, then those registered through entry points."""
    return _all_specs()


def get_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by name or alias (case- and punctuation-insensitive)."""
    key = canonical_key(name)
    for spec in _all_specs():
        if key in {canonical_key(n) for n in (spec.name, *spec.aliases)}:
            return spec
    known = ", ".join(spec.name for spec in _all_specs())
    raise UnknownNameError(f"unknown dataset {name!r}; known datasets: {known} "
                           "(`siambench data list` shows where each is looked for)")


def cache_dir() -> Path:
    """The user cache folder of siambench (the generated synthetic benchmark lives here)."""
    if os.environ.get("SIAMBENCH_CACHE"):
        return Path(os.environ["SIAMBENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "siambench"


def candidate_roots(spec: DatasetSpec, root: Path | str | None = None) -> list[Path]:
    """The folders looked at for a dataset, in order (see the module docstring)."""
    if root is not None:
        return [Path(root).expanduser()]
    if spec.generated:
        return [cache_dir() / spec.folders[0]]
    places: list[Path] = []
    data = os.environ.get("SIAMBENCH_DATA")
    if data:
        places += [Path(data).expanduser() / folder for folder in spec.folders]
    places += [Path("datasets") / folder for folder in spec.folders]
    return places


def resolve_root(spec: DatasetSpec, root: Path | str | None = None) -> Path:
    """The dataset's folder (or annotation file, see the module docstring): ``root`` when given,
    else the first existing candidate folder; the error lists every place looked at and says
    what each one that exists is (a file, a broken symbolic link, ...)."""
    places = candidate_roots(spec, root)
    if root is not None or spec.generated:
        place = places[0]
        if place.is_dir():
            return place
        if place.is_file() and place.suffix.lower() in spec.file_suffixes:
            return place
        kind = path_kind(place)
        if kind == "missing" and spec.generated:
            return place  # the synthetic benchmark is generated there
        if kind != "missing":
            also = (f" (or a {'/'.join(spec.file_suffixes)} annotation file)"
                    if spec.file_suffixes else "")
            raise DatasetNotFoundError(
                f"{place} is {kind}, expected a folder{also}: the root of dataset {spec.name}. "
                f"Expected folder structure: {spec.folder_structure}")
    for place in places:
        if place.is_dir():
            return place
    looked = "\n".join(f"  - {_shown(place)}" for place in places)
    raise DatasetNotFoundError(
        f"dataset {spec.name} not found. Looked in:\n{looked}\n"
        f"Expected folder structure: {spec.folder_structure}\n"
        f"Fix: pass --root PATH, set SIAMBENCH_DATA to the folder that holds "
        f"{spec.folders[0]}/, or place (or link) the dataset at datasets/{spec.folders[0]}")


def _shown(place: Path) -> str:
    """A place looked at, absolute, with what is there when it is not a folder."""
    kind = path_kind(place)
    where = os.path.abspath(place)
    return where if kind == "missing" else f"{where} ({kind}, expected a folder)"


def load_dataset(name: str, root: Path | str | None = None, *, progress: bool = True) -> Dataset:
    """Load a dataset by name (``otb100``, ``vot2018``, ``got10k-val``, ``synthetic``, ...).

    Reads only annotation and list files; frames are decoded when a sequence's frames are read.
    A dataset generated on first use (the synthetic splits) shows its generation's progress on
    stderr unless ``progress=False``.
    """
    spec = get_spec(name)
    folder = resolve_root(spec, root)
    if spec.generated:
        return spec.load_function()(folder, spec.variant, progress=progress)
    return spec.load_function()(folder, spec.variant)
