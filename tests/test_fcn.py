"""convlab.fcn: convolutionalization, output sizes, bilinear upsampling and the alignment of every skip."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from convlab.fcn import (
    FCN,
    VARIANTS,
    Classifier,
    MatmulConv2d,
    convolutionalize,
    crop_like,
    crop_offset,
    fcn8s_fuse,
)


@pytest.mark.parametrize("variant", ["32s", "16s", "8s"])
@pytest.mark.parametrize("size", [(33, 33), (64, 64), (65, 65), (97, 50), (1, 1), (7, 130)])
def test_output_has_input_size(variant, size):
    torch.manual_seed(0)
    net = FCN(3, variant, width=2, fc_channels=4)
    assert net(torch.randn(2, 3, *size)).shape == (2, 3, *size)


def test_variants_use_the_documented_skips():
    assert VARIANTS == {"32s": (), "16s": ("pool4",), "8s": ("pool4", "pool3")}
    names = {v: {n for n, _ in FCN(2, v, width=2).named_children()} for v in VARIANTS}
    assert "score_pool4" not in names["32s"] and "score_pool3" not in names["16s"]
    assert {"score_pool4", "score_pool3", "upscore2", "upscore_pool4"} <= names["8s"]


def test_vgg16_layout():
    net = FCN.vgg16(21, "8s", width=2, fc_channels=8)
    convs = [m for m in net.stages.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 13 and net.fc[0].kernel_size == (7, 7)
    assert [c.out_channels for c in convs][::3] == [2, 4, 8, 16, 16]


def test_convolutionalize_on_one_window():
    torch.manual_seed(1)
    fc = nn.Linear(3 * 2 * 4, 5)
    conv = convolutionalize(fc, 3, (2, 4))
    x = torch.randn(6, 3, 2, 4)
    torch.testing.assert_close(conv(x).flatten(1), fc(x.flatten(1)))
    assert conv.kernel_size == (2, 4) and conv.bias is not None
    no_bias = convolutionalize(nn.Linear(12, 2, bias=False), 3, 2)
    assert no_bias.bias is None


def test_fc_network_slid_at_the_network_stride_equals_the_conv_network():
    """The seed's example at small scale: an 18-pixel window at stride 4 over a 30 x 38 image.

    Unpadded convolutions, as padding would make a window's border differ from the full image's."""
    torch.manual_seed(2)
    backbone = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.MaxPool2d(2))
    fc6, fc7 = nn.Linear(3 * 4 * 4, 8), nn.Linear(8, 5)  # window 18 -> 16 -> 8 -> 4x4 features
    classify = nn.Sequential(backbone, nn.Flatten(), fc6, nn.ReLU(), fc7)
    dense = nn.Sequential(backbone, convolutionalize(fc6, 3, 4), nn.ReLU(), convolutionalize(fc7, 8, 1))
    image = torch.randn(1, 2, 30, 38)
    with torch.no_grad():
        scores = dense(image)
        assert scores.shape == (1, 5, (30 - 18) // 4 + 1, (38 - 18) // 4 + 1)
        for i in range(scores.shape[2]):
            for j in range(scores.shape[3]):
                window = image[:, :, 4 * i : 4 * i + 18, 4 * j : 4 * j + 18]
                torch.testing.assert_close(scores[:, :, i, j], classify(window))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((nn.Conv2d(1, 1, 1), 1, 1), TypeError, "`linear`"),
        ((nn.Linear(8, 2), 2, 3), ValueError, "in_features"),
        ((nn.Linear(8, 2), 0, 2), ValueError, "`in_channels`"),
        ((nn.Linear(8, 2), 2, (2, 2, 2)), ValueError, "`kernel_size`"),
    ],
)
def test_convolutionalize_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        convolutionalize(*args)


@pytest.mark.parametrize("factor", [2, 3, 8, 16, 32])
def test_bilinear_upsampler_equals_interpolation_away_from_the_border(factor):
    from convlab.fcn import _bilinear_upsampler

    layer = _bilinear_upsampler(3, factor, learnable=True)
    x = torch.randn(2, 3, 6, 7)
    with torch.no_grad():
        got = layer(x)
    want = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert got.shape == want.shape == (2, 3, 6 * factor, 7 * factor)
    m = factor  # one input cell of border
    torch.testing.assert_close(got[..., m:-m, m:-m], want[..., m:-m, m:-m], atol=1e-5, rtol=1e-5)


def test_learnable_upsampling_switch():
    frozen = FCN(2, "8s", width=2, learnable_upsampling=False)
    assert not frozen.upscore.weight.requires_grad and not frozen.upscore2.weight.requires_grad
    learned = FCN(2, "8s", width=2, learnable_upsampling=True)
    assert learned.upscore.weight.requires_grad and learned.upscore_pool4.weight.requires_grad
    paper = FCN(2, "8s", width=2)  # default: the paper's text, final fixed, x2 layers learned
    assert not paper.upscore.weight.requires_grad
    assert paper.upscore2.weight.requires_grad and paper.upscore_pool4.weight.requires_grad
    with pytest.raises(ValueError, match="learnable_upsampling"):
        FCN(2, "8s", width=2, learnable_upsampling="final")


def _centres(n, stride):
    """Input-pixel coordinate (pixel centres at k + 0.5) of the cells of a map at ``stride``."""
    return stride * torch.arange(n, dtype=torch.float32) + stride / 2


@pytest.mark.parametrize(
    ("variant", "layer", "stride"),
    [("32s", "score_fr", 32), ("16s", "score_fr", 32), ("16s", "score_pool4", 16)]
    + [("8s", "score_fr", 32), ("8s", "score_pool4", 16), ("8s", "score_pool3", 8)],
)
def test_every_path_is_aligned_with_the_input(variant, layer, stride):
    """Replace one score map by the coordinates of its cells (the others by zeros): the network's
    output must then be each pixel's own coordinate, since bilinear upsampling reproduces linear
    functions exactly. A crop offset off by one cell shifts the result and fails."""
    net = FCN(2, variant, width=2, fc_channels=4).eval()
    height, width = 161, 190  # not multiples of 32: the upsampled maps need cropping

    def replace(name):
        def hook(module, inputs, output):
            if name != layer:
                return torch.zeros_like(output)
            h, w = output.shape[-2:]
            coords = torch.stack(torch.meshgrid(_centres(h, stride), _centres(w, stride), indexing="ij"))
            return coords[None].expand_as(output).contiguous()

        return hook

    for name in ("score_fr", *(f"score_{s}" for s in VARIANTS[variant])):
        getattr(net, name).register_forward_hook(replace(name))
    with torch.no_grad():
        out = net(torch.zeros(1, 3, height, width))
    rows, cols = torch.meshgrid(_centres(height, 1), _centres(width, 1), indexing="ij")
    m = 48  # border cells see the transposed convolutions' zero padding
    torch.testing.assert_close(out[0, 0, m:-m, m:-m], rows[m:-m, m:-m], atol=1e-3, rtol=0)
    torch.testing.assert_close(out[0, 1, m:-m, m:-m], cols[m:-m, m:-m], atol=1e-3, rtol=0)


def test_crop_like():
    x = torch.arange(30).reshape(1, 5, 6)
    assert crop_like(x, (3, 4)).tolist() == [[[0, 1, 2, 3], [6, 7, 8, 9], [12, 13, 14, 15]]]
    assert crop_like(x, torch.zeros(2, 2), offset=(1, 2)).tolist() == [[[8, 9], [14, 15]]]
    assert crop_like(x, (3, 2), offset="center").tolist() == [[[8, 9], [14, 15], [20, 21]]]
    with pytest.raises(ValueError, match="does not fit"):
        crop_like(x, (6, 2))
    with pytest.raises(ValueError, match="does not fit"):
        crop_like(x, (3, 3), offset=(0, 4))
    with pytest.raises(ValueError, match="`offset`"):
        crop_like(x, (3, 3), offset="middle")
    with pytest.raises(TypeError, match="`x`"):
        crop_like(np.zeros((4, 4)), (2, 2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": 0}, ValueError, "`num_classes`"),
        ({"num_classes": 2, "variant": "4s"}, ValueError, "`variant`"),
        ({"num_classes": 2, "variant": 8}, TypeError, "`variant`"),
        ({"num_classes": 2, "width": 0}, ValueError, "`width`"),
        ({"num_classes": 2, "depths": (1, 1)}, ValueError, "`depths`"),
        ({"num_classes": 2, "fc_kernel": 4}, ValueError, "`fc_kernel`"),
        ({"num_classes": 2, "batch_norm": 1}, TypeError, "`batch_norm`"),
        ({"num_classes": 2, "dropout": 1.0}, ValueError, "`dropout`"),
    ],
)
def test_fcn_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        FCN(**kwargs)


def test_forward_rejects_a_single_image():
    with pytest.raises(ValueError, match="4-D"):
        FCN(2, width=2)(torch.zeros(3, 32, 32))


@pytest.mark.parametrize(
    "cin, cout, kernel, stride, padding, dilation, size, bias",
    [
        (3, 4, 3, 1, 1, 1, (8, 8), True),
        (5, 2, (2, 3), (2, 1), (1, 0), 1, (7, 9), True),
        (2, 3, 7, 1, 3, 1, (8, 8), False),  # fc6's shape: the kernel covers most of the map
        (4, 4, 3, 3, 2, 2, (11, 6), True),
        (1, 1, 1, 1, 0, 1, (1, 1), False),
    ],
)
def test_matmul_conv_equals_conv2d_forward_and_backward(
    cin, cout, kernel, stride, padding, dilation, size, bias
):
    torch.manual_seed(0)
    options = dict(stride=stride, padding=padding, dilation=dilation, bias=bias)
    fast = MatmulConv2d(cin, cout, kernel, **options).double()
    fast.matmul = True
    ref = nn.Conv2d(cin, cout, kernel, **options).double()
    ref.load_state_dict(fast.state_dict())
    x1 = torch.randn(3, cin, *size, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = fast(x1), ref(x2)
    torch.testing.assert_close(y1, y2)
    g = torch.randn_like(y1)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad)
    for p1, p2 in zip(fast.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p1.grad, p2.grad)


def test_matmul_conv_takes_the_matrix_route_only_when_asked_or_on_16_bit_cuda(monkeypatch):
    conv = MatmulConv2d(2, 3, 3, padding=1)
    routes = []
    unfold = F.unfold
    monkeypatch.setattr(F, "unfold", lambda *a, **k: routes.append("matmul") or unfold(*a, **k))
    x = torch.randn(1, 2, 5, 5)
    conv(x)
    conv(x.bfloat16().float())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        conv(x)  # CPU autocast: the library convolution
    assert routes == []
    conv.matmul = True
    conv(x)
    assert routes == ["matmul"]
    conv(x[0])  # unbatched input: the library convolution
    grouped = MatmulConv2d(2, 2, 3, groups=2)
    grouped.matmul = True
    grouped(x)
    same = MatmulConv2d(2, 2, 3, padding="same")
    same.matmul = True
    same(x)
    assert routes == ["matmul"]
    conv.matmul = None
    assert conv._use_matmul(x) is False


def test_matmul_conv_on_cuda_tensors_is_chosen_for_16_bit(monkeypatch):
    conv = MatmulConv2d(2, 3, 3)

    class FakeCuda(torch.Tensor):
        is_cuda = True

    x = torch.randn(1, 2, 5, 5).as_subclass(FakeCuda)
    assert conv._use_matmul(x) is False  # float32 without autocast: cuDNN's TF32 kernels are fast
    assert conv._use_matmul(x.bfloat16()) is True
    assert conv._use_matmul(x.half()) is True
    monkeypatch.setattr(torch, "is_autocast_enabled", lambda *device: True)
    assert conv._use_matmul(x) is True


def test_fcn_fc6_is_a_matmul_conv_with_the_usual_weights():
    net = FCN.vgg16(21, "8s", width=2, fc_channels=8)
    assert type(net.fc[0]) is MatmulConv2d and isinstance(net.fc[0], nn.Conv2d)
    assert {"fc.0.weight", "fc.0.bias"} <= set(net.state_dict())
    torch.manual_seed(0)
    x = torch.randn(2, 3, 70, 45)
    net.eval()
    y = net(x)
    net.fc[0].matmul = True
    torch.testing.assert_close(net(x), y, atol=1e-5, rtol=1e-5)


POOL = ("pool", 2, 2, 0)
PAD100 = ("conv", 3, 1, 100)
FC6 = ("conv", 7, 1, 0)


def test_crop_offset_gives_the_original_caffe_offsets():
    # voc-fcn32s/16s/8s net.py: crop(upscore, data) at 19, 27, 31; score_pool4c at 5, score_pool3c at 9.
    score_fr = [PAD100] + [POOL] * 5 + [FC6]
    assert crop_offset(score_fr + [("transposed", 64, 32, 0)]) == 19
    up2 = score_fr + [("transposed", 4, 2, 0)]
    assert crop_offset(up2 + [("transposed", 32, 16, 0)]) == 27
    up4 = up2 + [("transposed", 4, 2, 0)]
    assert crop_offset(up4 + [("transposed", 16, 8, 0)]) == 31
    # a skip's crop: two maps of the same stride, brought to the input scale by one and the same
    # layer; their offsets differ by the crop offset times the stride (in input pixels)
    up16, up8 = [("transposed", 16, 16, 0)], [("transposed", 8, 8, 0)]
    assert (crop_offset([PAD100] + [POOL] * 4 + up16) - crop_offset(up2 + up16)) / 16 == 5
    assert (crop_offset([PAD100] + [POOL] * 3 + up8) - crop_offset(up4 + up8)) / 8 == 9


def test_crop_offset_of_the_course_network_is_zero_and_matches_its_geometry():
    for final, skips in ((32, 5), (16, 4), (8, 3)):
        assert crop_offset([POOL] * skips + [("transposed", 2 * final, final, final // 2)]) == 0


@pytest.mark.parametrize(
    ("layers", "error", "match"),
    [
        ([POOL], ValueError, "scale"),
        ([("conv", 2, 1, 0)], ValueError, "shifted by -0.5"),
        ([("dense", 3, 1, 0)], ValueError, "kind"),
        ([("conv", 0, 1, 0)], ValueError, "kernel"),
        ([("conv", 3, 1, -1)], ValueError, "padding"),
        ([("conv", 3, 1)], TypeError, r"layers\[0\]"),
        ("conv", TypeError, "sequence"),
    ],
)
def test_crop_offset_rejects_bad_layers(layers, error, match):
    with pytest.raises(error, match=match):
        crop_offset(layers)


def test_fcn8s_fuse_is_what_the_network_computes():
    torch.manual_seed(0)
    net = FCN(3, "8s", width=2).eval()
    for p in (net.score_pool4, net.score_pool3):
        nn.init.normal_(p.weight)  # non-zero skips, so the order of the sums matters
    x = torch.randn(2, 3, 45, 70)
    with torch.no_grad():
        pools, f = [], x
        for stage in net.stages:
            f = stage(f)
            pools.append(f)
        s = net.score_fr(net.fc(f))
        s4, s3 = net.score_pool4(pools[3]), net.score_pool3(pools[2])
        by_hand = crop_like(net.upscore2(s), s4) + s4
        by_hand = crop_like(net.upscore_pool4(by_hand), s3) + s3
        by_hand = net.upscore(by_hand)[..., :45, :70]
        got = fcn8s_fuse(s, s4, s3, net.upscore2, net.upscore_pool4, net.upscore, (45, 70))
        torch.testing.assert_close(got, by_hand)
        torch.testing.assert_close(net(x), by_hand)


def test_from_classifier_is_the_classifier_convolutionalized():
    torch.manual_seed(1)
    clf = Classifier(4, width=2, fc_channels=8, input_size=96).eval()
    for m in clf.modules():  # non-trivial batch-norm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    net = FCN.from_classifier(clf, "8s").eval()
    x = torch.randn(3, 3, 96, 96)
    with torch.no_grad():
        f = x
        for stage in net.stages:
            f = stage(f)
        dense = net.score_fr(net.fc(f))  # (3, 4, 3, 3): the centre cell sees the whole 3x3 map
        torch.testing.assert_close(dense[:, :, 1, 1], clf(x), atol=1e-5, rtol=1e-5)
        assert net.fc[0].padding == (1, 1) and net.fc[0].kernel_size == (3, 3)
    assert not net.score_pool4.weight.detach().any() and not net.score_pool3.weight.detach().any()
    assert not net.upscore.weight.requires_grad and net.upscore2.weight.requires_grad
    with pytest.raises(TypeError, match="Classifier"):
        FCN.from_classifier(net)


def test_from_fcn_copies_shared_layers_and_starts_the_new_skip_at_zero():
    torch.manual_seed(2)
    coarse = FCN(3, "16s", width=2).eval()
    nn.init.normal_(coarse.score_pool4.weight)
    fine = FCN.from_fcn(coarse, "8s").eval()
    for name in ("score_fr.weight", "score_pool4.weight", "upscore2.weight", "stages.0.0.weight"):
        torch.testing.assert_close(fine.state_dict()[name], coarse.state_dict()[name])
    assert not fine.score_pool3.weight.detach().any()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        # with score_pool3 = 0, FCN-8s's 1/8 scores are the 16s's 1/16 scores upsampled by 2
        pools, f = [], x
        for stage in fine.stages:
            f = stage(f)
            pools.append(f)
        s16 = crop_like(coarse.upscore2(coarse.score_fr(coarse.fc(f))), pools[3]) + coarse.score_pool4(
            pools[3]
        )
        want = fine.upscore(crop_like(fine.upscore_pool4(s16), pools[2]))[..., :64, :64]
        torch.testing.assert_close(fine(x), want)
    with pytest.raises(ValueError, match="finer"):
        FCN.from_fcn(fine, "16s")
    with pytest.raises(TypeError, match="FCN"):
        FCN.from_fcn(nn.Conv2d(1, 1, 1), "8s")


def test_classifier_validates_its_arguments():
    with pytest.raises(ValueError, match="input_size"):
        Classifier(4, input_size=64)  # 64 / 32 = 2 is even
    with pytest.raises(ValueError, match="96"):
        Classifier(4, width=2, input_size=96)(torch.zeros(1, 3, 64, 64))
