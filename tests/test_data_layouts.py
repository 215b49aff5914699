"""Folder layouts: label order, and a clear error naming the path for every wrong layout."""
import json

import numpy as np
import pytest

from pipeline.data.cache import load_cache
from pipeline.data.errors import DataError, LayoutError
from pipeline.data.layouts import discover
from pipeline.data.manifest import manifest_path
from pipeline.data.prepare import prepare
from test_data_helpers import Log, flowers_tree, noisy_jpeg, office_tree, write


def test_flowers_labels_sorted_by_name_whatever_the_creation_order(tmp_path):
    root = tmp_path / "fl"
    for name, files in (("tulip", ["b.jpg", "a.jpg"]), ("daisy", ["z.jpg", "m.jpg"]),
                        ("Rose", ["c.jpg"])):
        for i, f in enumerate(files):
            write(root / name / f, noisy_jpeg(i))
    src = discover("flowers", root)
    assert src.heads == ["class"]
    assert src.names == [["Rose", "daisy", "tulip"]]        # code-point order, not locale
    assert src.files == ["Rose/c.jpg", "daisy/m.jpg", "daisy/z.jpg", "tulip/a.jpg", "tulip/b.jpg"]
    assert src.labels[:, 0].tolist() == [0, 1, 1, 2, 2]


def test_office31_two_labels_domain_major(tmp_path):
    root = office_tree(tmp_path / "o31", domains=("webcam", "amazon"), objects=("mug", "bike"))
    src = discover("office31", root)
    assert src.heads == ["domain", "object"]
    assert src.names == [["amazon", "webcam"], ["bike", "mug"]]
    assert src.files[0] == "amazon/images/bike/frame_0001.jpg"
    assert src.labels.tolist() == [[0, 0], [0, 0], [0, 1], [0, 1], [1, 0], [1, 0], [1, 1], [1, 1]]


def test_loose_files_hidden_and_nested_folders_are_listed_not_used(tmp_path):
    root = flowers_tree(tmp_path / "fl")
    write(root / "PROVENANCE.md", "notes")
    write(root / ".git" / "x", "x")
    write(root / "__MACOSX" / "daisy" / "._img.jpg", "junk")
    write(root / "daisy" / "extra" / "deep.jpg", noisy_jpeg(9))
    src = discover("flowers", root)
    assert src.names == [["daisy", "rose", "tulip"]]
    assert all("extra" not in f for f in src.files)
    ignored = dict(src.ignored)
    assert set(ignored) == {"PROVENANCE.md", ".git/", "__MACOSX/", "daisy/extra/"}


@pytest.mark.parametrize("dataset", ["flowers", "office31"])
def test_missing_root(tmp_path, dataset):
    with pytest.raises(LayoutError, match="not found") as e:
        discover(dataset, tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value) and "expected ROOT/" in str(e.value)


def test_root_is_a_file(tmp_path):
    f = write(tmp_path / "f.jpg", noisy_jpeg(0))
    with pytest.raises(LayoutError, match="not a folder"):
        discover("flowers", f)


def test_images_directly_in_root(tmp_path):
    write(tmp_path / "a.jpg", noisy_jpeg(0))
    with pytest.raises(LayoutError) as e:
        discover("flowers", tmp_path)
    assert str(tmp_path) in str(e.value) and "no class folders" in str(e.value)
    assert "ROOT/<class>/*.jpg" in str(e.value)


def test_root_one_level_too_high(tmp_path):
    flowers_tree(tmp_path / "flowers")
    with pytest.raises(LayoutError, match="one level too high") as e:
        discover("flowers", tmp_path)
    assert str(tmp_path / "flowers") in str(e.value)


def test_empty_class_folder(tmp_path):
    root = flowers_tree(tmp_path / "fl")
    (root / "sunflower").mkdir()
    with pytest.raises(LayoutError, match="empty label folder") as e:
        discover("flowers", root)
    assert str(root / "sunflower") in str(e.value)


def test_no_images_at_all_names_the_folders_and_writes_a_manifest(tmp_path):
    root = tmp_path / "fl"
    for c in ("daisy", "rose"):
        write(root / c / ".DS_Store", b"\x00\x00\x00\x01Bud1")
        write(root / c / "notes.txt", "not an image")
    out = tmp_path / "c.npz"
    with pytest.raises(DataError, match="no usable image") as e:
        prepare("flowers", root, out, 16, log=Log())
    assert str(root / "daisy") in str(e.value) and str(root / "rose") in str(e.value)
    assert not out.exists()
    m = json.loads(manifest_path(out).read_text())
    assert m["status"] == "failed" and len(m["skipped"]) == 4


def test_a_class_whose_every_file_is_bad_is_an_error_not_a_silent_gap(tmp_path):
    root = flowers_tree(tmp_path / "fl")
    write(root / "iris" / "a.jpg", b"")
    write(root / "iris" / "b.jpg", noisy_jpeg(1)[:100])
    with pytest.raises(DataError) as e:
        prepare("flowers", root, tmp_path / "c.npz", 16, log=Log())
    assert str(root / "iris") in str(e.value) and "empty file" in str(e.value)


def test_office31_missing_images_folder(tmp_path):
    root = office_tree(tmp_path / "o31")
    write(root / "webcam" / "bike" / "frame_0001.jpg", noisy_jpeg(0))
    with pytest.raises(LayoutError, match="no 'images' folder") as e:
        discover("office31", root)
    assert str(root / "webcam") in str(e.value)
    assert "ROOT/<domain>/images/<object>/*.jpg" in str(e.value)


def test_office31_flowers_folder_given(tmp_path):
    root = flowers_tree(tmp_path / "fl")
    with pytest.raises(LayoutError, match="no 'images' folder"):
        discover("office31", root)


def test_office31_single_domain_folder_given(tmp_path):
    root = office_tree(tmp_path / "o31")
    with pytest.raises(LayoutError, match="Pass its parent"):
        discover("office31", root / "amazon")


def test_office31_archive_root_one_level_too_high(tmp_path):
    office_tree(tmp_path / "domain_adaptation_images")
    with pytest.raises(LayoutError, match="one level too high"):
        discover("office31", tmp_path)


def test_office31_object_folders_must_match_across_domains(tmp_path):
    root = office_tree(tmp_path / "o31")
    write(root / "amazon" / "images" / "ruler" / "frame_0001.jpg", noisy_jpeg(0))
    with pytest.raises(LayoutError, match="differ between domains") as e:
        discover("office31", root)
    assert str(root / "dslr" / "images") in str(e.value) and "ruler" in str(e.value)


def test_office31_empty_object_folder(tmp_path):
    root = office_tree(tmp_path / "o31")
    for d in ("amazon", "dslr"):
        (root / d / "images" / "stapler").mkdir()
    (root / "dslr" / "images" / "stapler" / "frame_0001.jpg").write_bytes(noisy_jpeg(0))
    with pytest.raises(LayoutError, match="empty label folder") as e:
        discover("office31", root)
    assert str(root / "amazon" / "images" / "stapler") in str(e.value)


def test_unknown_dataset(tmp_path):
    with pytest.raises(ValueError, match="unknown data set"):
        discover("cifar", tmp_path)


def test_labels_are_int64_and_deterministic(tmp_path):
    root = office_tree(tmp_path / "o31")
    a, b = discover("office31", root), discover("office31", root)
    assert a.labels.dtype == np.int64 and a.files == b.files
    assert np.array_equal(a.labels, b.labels)


def test_flower_photos_plural_folders_read_as_the_study_classes(tmp_path):
    """TensorFlow's flower_photos (roses, sunflowers, tulips, and a LICENSE.txt in ROOT)
    gives the same classes, in the same order, as Kaggle's singular folders."""
    plural = flowers_tree(tmp_path / "flower_photos",
                          classes=("tulips", "daisy", "sunflowers", "dandelion", "roses"),
                          per_class=2)
    write(plural / "LICENSE.txt", "CC-BY")
    singular = flowers_tree(tmp_path / "kaggle",
                            classes=("daisy", "dandelion", "rose", "sunflower", "tulip"),
                            per_class=2)
    src, ref = discover("flowers", plural), discover("flowers", singular)
    assert src.names == ref.names == [["daisy", "dandelion", "rose", "sunflower", "tulip"]]
    assert src.labels[:, 0].tolist() == ref.labels[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert src.files[4:6] == ["roses/img_0.jpg", "roses/img_1.jpg"]      # real paths kept
    assert dict(src.ignored) == {"LICENSE.txt": "file directly in ROOT (not in a label folder)"}
    prepare("flowers", plural, tmp_path / "fp.npz", 16, log=Log())
    cache = load_cache(tmp_path / "fp.npz")
    assert cache.names == [["daisy", "dandelion", "rose", "sunflower", "tulip"]]
    assert np.bincount(cache["y"][:, 0]).tolist() == [2, 2, 2, 2, 2]


def test_singular_and_plural_folder_of_one_class_is_an_error(tmp_path):
    root = flowers_tree(tmp_path / "fl", classes=("daisy", "rose", "roses"))
    with pytest.raises(LayoutError, match=r"folders rose and roses are the same class \(rose\)"):
        discover("flowers", root)
