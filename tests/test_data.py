"""convlab.data: determinism, variety and validity of the synthetic shapes set."""

import numpy as np
import pytest

from convlab.data import CLASS_NAMES, IGNORE_INDEX, ignore_boundaries, make_shape_crops, make_shapes


def test_shapes_dtypes_ranges_and_pair_size():
    images, masks = make_shapes(6, size=(24, 40), seed=3)
    assert images.shape == (6, 3, 24, 40) and images.dtype == np.float32
    assert masks.shape == (6, 24, 40) and masks.dtype == np.int64
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert set(np.unique(masks)) <= set(range(len(CLASS_NAMES)))


def test_same_seed_same_set_and_prefix_independent_of_n():
    a_img, a_mask = make_shapes(300, size=32, seed=7)  # more than one chunk
    b_img, b_mask = make_shapes(300, size=32, seed=7)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    c_img, c_mask = make_shapes(5, size=32, seed=7)
    np.testing.assert_array_equal(a_img[:5], c_img)
    np.testing.assert_array_equal(a_mask[:5], c_mask)


def test_seeds_differ_and_images_differ():
    a, ma = make_shapes(8, size=32, seed=0)
    b, mb = make_shapes(8, size=32, seed=1)
    assert not np.array_equal(a, b) and not np.array_equal(ma, mb)
    assert len({m.tobytes() for m in ma}) == 8  # no two masks alike


def test_every_class_appears_with_a_plausible_share():
    _, masks = make_shapes(200, size=48, seed=0)
    share = np.bincount(masks.ravel(), minlength=4) / masks.size
    assert share[0] > 0.5  # mostly background
    assert np.all(share[1:] > 0.02)  # each shape class is well represented
    assert np.mean([(m > 0).any() for m in masks]) > 0.95  # shapes may leave the frame, rarely all


def test_shapes_are_visible_against_the_background():
    images, masks = make_shapes(50, size=48, seed=2)
    for image, mask in zip(images, masks, strict=True):
        fg, bg = mask > 0, mask == 0
        if fg.sum() > 20 and bg.sum() > 20:
            gap = np.abs(image[:, fg].mean(axis=1) - image[:, bg].mean(axis=1)).max()
            assert gap > 0.02


def test_images_hold_several_classes():
    _, masks = make_shapes(100, size=48, seed=4)
    counts = [len(np.unique(m[m > 0])) for m in masks]
    assert max(counts) == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "`n`"),
        ({"n": 2.0}, TypeError, "`n`"),
        ({"n": 2, "size": 8}, ValueError, "`size`"),
        ({"n": 2, "size": (32, 32, 3)}, ValueError, "`size`"),
        ({"n": 2, "seed": -1}, ValueError, "`seed`"),
        ({"n": 2, "seed": "a"}, TypeError, "`seed`"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_shapes(**kwargs)


def test_dataset_matches_arrays():
    import torch

    from convlab.data import ShapesDataset

    data = ShapesDataset(4, size=32, seed=5)
    images, masks = make_shapes(4, size=32, seed=5)
    image, mask = data[2]
    assert isinstance(data, torch.utils.data.Dataset) and len(data) == 4
    np.testing.assert_array_equal(image.numpy(), images[2])
    np.testing.assert_array_equal(mask.numpy(), masks[2])
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
    assert batch[0].shape == (4, 3, 32, 32) and batch[1].dtype == torch.int64


def test_crops_one_shape_or_none_balanced_and_deterministic():
    images, labels = make_shape_crops(400, size=32, seed=5)
    assert images.shape == (400, 3, 32, 32) and images.dtype == np.float32
    assert labels.dtype == np.int64 and set(np.unique(labels)) == {0, 1, 2, 3}
    counts = np.bincount(labels)
    assert counts.min() > 70  # four equally likely labels: 100 expected each
    assert images.min() >= 0 and images.max() <= 1
    again, labels_again = make_shape_crops(400, size=32, seed=5)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(make_shape_crops(4, size=32, seed=6)[0], images[:4])


def test_crops_draw_their_shape_near_the_centre():
    # A crop with a shape differs from its own background far more at the centre than a crop without.
    images, labels = make_shape_crops(200, size=48, seed=0)
    centre = images[:, :, 20:28, 20:28].mean(axis=(2, 3))
    corner = images[:, :, :4, :4].mean(axis=(2, 3))
    contrast = np.linalg.norm(centre - corner, axis=1)
    assert np.median(contrast[labels > 0]) > 3 * np.median(contrast[labels == 0])


def _loop_band(mask, width, ignore):
    h, w = mask.shape
    out = mask.copy()
    for i in range(h):
        for j in range(w):
            window = mask[max(0, i - width) : i + width + 1, max(0, j - width) : j + width + 1]
            if np.any(window != mask[i, j]):
                out[i, j] = ignore
    return out


@pytest.mark.parametrize("width", [0, 1, 2])
def test_ignore_boundaries_against_a_loop(width):
    _, masks = make_shapes(3, size=(20, 27), seed=4)
    got = ignore_boundaries(masks, width)
    for mask, band in zip(masks, got, strict=True):
        np.testing.assert_array_equal(band, _loop_band(mask, width, IGNORE_INDEX))
    np.testing.assert_array_equal(masks, make_shapes(3, size=(20, 27), seed=4)[1])  # input untouched


def test_ignore_boundaries_hand_made_and_errors():
    np.testing.assert_array_equal(
        ignore_boundaries([[0, 0, 0, 1, 1, 1]], width=1, ignore_index=9), [[0, 0, 9, 9, 1, 1]]
    )
    with pytest.raises(ValueError, match="ignore_index"):
        ignore_boundaries([[0, 255], [0, 0]])
    with pytest.raises(ValueError, match="2 dimensions"):
        ignore_boundaries([0, 1, 1])
    with pytest.raises(TypeError, match="integer"):
        ignore_boundaries([[0.0, 1.0]])
    with pytest.raises(ValueError, match="width"):
        ignore_boundaries([[0, 1]], width=-1)
    with pytest.raises(ValueError, match="size"):
        make_shape_crops(2, size=8)
