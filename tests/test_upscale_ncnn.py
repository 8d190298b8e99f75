"""ncnn model files (``--sr model.param``): the parser, the weight reader, each layer, the real model.

Each layer test writes a tiny ``.param``/``.bin`` pair and compares the network with a direct PyTorch
(or, where the weight layout or border rule is the point, a plain loop) computation of what ncnn
computes. The real Real-ESRGAN AnimeVideo v3 ×4 model of ``../shared/data/models/`` must reproduce the
ncnn runtime's own output for a real frame.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restore.media.images import read_image
from restore.upscale import create_upscaler
from restore.upscale.ncnn import NcnnModelError, load_ncnn_descriptor
from restore.upscale.ncnn.blobs import FP16_TAG, INT8_TAG, read_bin
from restore.upscale.ncnn.graph import build_graph
from restore.upscale.ncnn.param import parse_param_text, read_param
from tests.conftest import decode_all, ffmpeg, main_in_process, shared_file

REAL = ("models", "realesr-animevideov3-x4")
SLOPE_BITS = 1036831949  # 0x3DCCCCCD: waifu2x writes the leaky slope 0.1 as the int of its bits


def raw(values: np.ndarray | torch.Tensor) -> bytes:
    """ncnn type-1 storage: fp32, no tag."""
    return np.asarray(values, dtype="<f4").tobytes()


def fp32(values: np.ndarray | torch.Tensor) -> bytes:
    """ncnn type-0 storage with the zero tag: fp32."""
    return b"\0\0\0\0" + raw(values)


def fp16(values: np.ndarray | torch.Tensor) -> bytes:
    """ncnn type-0 storage with the fp16 tag, padded to 4 bytes."""
    data = np.asarray(values, dtype="<f2").tobytes()
    return FP16_TAG.to_bytes(4, "little") + data + b"\0" * (-len(data) % 4)


def write_model(folder, layers: list[str], blobs: list[bytes], name: str = "net"):
    """``folder/name.param`` with the given layer lines and ``name.bin`` with the given blobs."""
    tops = sum(int(line.split()[3]) for line in layers)
    text = "\n".join(["7767517", f"{len(layers)} {tops}", *layers]) + "\n"
    path = folder / f"{name}.param"
    path.write_text(text)
    path.with_suffix(".bin").write_bytes(b"".join(blobs))
    return path


def network(path):
    """The bare graph of a written model (no trimming, no padding)."""
    return build_graph(read_param(path), read_bin(path.with_suffix(".bin")))


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) - 0.5


def close(actual: torch.Tensor, expected: torch.Tensor, tol: float = 1e-5) -> None:
    assert actual.shape == expected.shape
    difference = (actual - expected).abs().max().item()
    assert difference <= tol, difference


# --------------------------------------------------------------------------------------- the parser


def test_param_values_arrays_and_reinterpreted_bits():
    graph = parse_param_text(
        "7767517\n2 2\nInput in 0 1 data 2=3\n"
        f"Crop c 1 1 data out 0=2 1=-233 3=1.5e+00 -23309=2,4,-4 -23310=1,{SLOPE_BITS}\n"
    )
    crop = graph.layers[1]
    assert (crop.int(0, 0), crop.int(1, 0), crop.int(7, 9)) == (2, -233, 9)
    assert crop.float(3, 0.0) == 1.5 and crop.ints(9) == (4, -4)
    assert crop.floats(10) == (pytest.approx(0.1, abs=1e-8),)  # the int's bits read as a float
    assert crop.bottoms == ("data",) and crop.tops == ("out",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7767516\n1 1\nInput in 0 1 data\n", "magic"),
        ("7767517\n2 2\nInput in 0 1 data\n", "declares 2 layers but has 1"),
        ("7767517\n1 1\nInput in 0 1 data 0=__import__('os')\n", "is not a number"),
        ("7767517\n1 1\nInput in 0 2 data\n", "fewer blobs"),
        ("7767517\n2 2\nInput in 0 1 data\nReLU r 1 1 data out -23310=3,1,2\n", "count it starts with"),
    ],
)
def test_malformed_param_is_refused_in_one_line(text, message):
    with pytest.raises(NcnnModelError, match=message) as caught:
        parse_param_text(text)
    assert "\n" not in str(caught.value)


# ----------------------------------------------------------------------------------- each layer


def test_convolution_pads_dilation_stride_bias_and_leaky_activation(tmp_path):
    weight, bias = rand(4, 3, 3, 2, seed=1), rand(4, seed=2)
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "Convolution conv 1 1 data out 0=4 1=2 11=3 2=2 12=1 3=1 13=2 4=1 15=2 14=0 16=3 18=0.25 "
            f"5=1 6=72 9=2 -23310=1,{SLOPE_BITS}",
        ],
        [fp32(weight.flatten()), raw(bias)],
    )
    x = rand(2, 3, 7, 6, seed=3)
    padded = F.pad(x, (1, 2, 0, 3), value=0.25)
    expected = F.leaky_relu(F.conv2d(padded, weight, bias, stride=(2, 1), dilation=(1, 2)), 0.1)
    close(network(path)(x), expected)


def test_depthwise_convolution_same_padding(tmp_path):
    weight = rand(6, 2, 3, 3, seed=4)
    layer = "ConvolutionDepthWise dw 1 1 data out 0=6 1=3 4=-233 3=2 5=0 6=108 7=2"
    path = write_model(tmp_path, ["Input in 0 1 data", layer], [fp32(weight.flatten())])
    x = rand(1, 4, 8, 7, seed=5)
    # SAME_UPPER, stride 2: pad = k + (n-1)//s*s - n -> rows 1 (0 top, 1 bottom), columns 2 (1, 1).
    expected = F.conv2d(F.pad(x, (1, 1, 0, 1)), weight, stride=2, groups=2)
    close(network(path)(x), expected)


def _deconvolution_loop(x, weight, bias, stride, pad, output_pad):
    """ncnn's deconvolution: scatter each input pixel times the (out, in) kernel, add bias, cut the pads."""
    inputs, height, width = x.shape[1:]
    outputs, _, kernel, _ = weight.shape
    full = (height - 1) * stride + kernel + output_pad, (width - 1) * stride + kernel + output_pad
    out = np.tile(bias.numpy()[:, None, None], (1, *full)).astype(np.float64)
    x, weight = x.numpy(), weight.numpy()
    for p in range(outputs):
        for q in range(inputs):
            for i in range(height):
                for j in range(width):
                    for ki in range(kernel):
                        for kj in range(kernel):
                            out[p, i * stride + ki, j * stride + kj] += x[0, q, i, j] * weight[p, q, ki, kj]
    return torch.from_numpy(out[:, pad : full[0] - pad, pad : full[1] - pad]).float()[None]


def test_deconvolution_weight_layout_output_pad_and_cut(tmp_path):
    weight, bias = rand(3, 2, 3, 3, seed=6), rand(3, seed=7)  # ncnn layout (out, in, kh, kw)
    layer = "Deconvolution de 1 1 data out 0=3 1=3 3=2 4=1 18=1 5=1 6=54"
    path = write_model(tmp_path, ["Input in 0 1 data", layer], [fp32(weight.flatten()), raw(bias)])
    x = rand(1, 2, 4, 5, seed=8)
    expected = _deconvolution_loop(x, weight, bias, stride=2, pad=1, output_pad=1)
    close(network(path)(x), expected)


def test_activations_prelu_relu_sigmoid_clip(tmp_path):
    slopes = torch.tensor([0.1, -0.3, 0.7])
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "PReLU p 1 1 data a 0=3",
            "ReLU r 1 1 a b 0=2.000000e-01",
            "Clip c 1 1 b d 0=-1.000000e-01 1=1.500000e-01",
            "Sigmoid s 1 1 d out",
        ],
        [raw(slopes)],
    )
    x = rand(2, 3, 4, 4, seed=9) * 4
    step = torch.where(x > 0, x, x * slopes.view(1, 3, 1, 1))
    step = torch.where(step > 0, step, step * 0.2)
    close(network(path)(x), torch.sigmoid(step.clamp(-0.1, 0.15)))


def test_binaryop_broadcast_scalar_eltwise_concat_and_global_pooling(tmp_path):
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "Split sp 1 4 data a b c d",
            "Pooling gap 1 1 a mean 0=1 4=1",
            "BinaryOp mul 2 1 b mean m 0=2",
            "BinaryOp rsub 1 1 c r 0=7 1=1 2=2.500000e+00",
            "Eltwise sum 3 1 m r d e 0=1 -23301=3,1.0,-2.0,0.5",
            "Eltwise max 2 1 e m f 0=2",
            "Concat cat 2 1 f r out 0=0",
        ],
        [],
    )
    x = rand(2, 3, 5, 4, seed=10)
    m = x * x.mean(dim=(2, 3), keepdim=True)
    r = 2.5 - x
    e = m - 2 * r + 0.5 * x
    close(network(path)(x), torch.cat([torch.maximum(e, m), r], dim=1))


def test_interp_nearest_by_scale_and_bilinear_to_a_size(tmp_path):
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "Split sp 1 2 data a b",
            "Interp near 1 1 a n 0=1 1=2.500000e+00 2=2.000000e+00",
            "Split sn 1 2 n n1 n2",
            "Interp lin 1 1 b l 0=2 3=7 4=5",
            "Interp back 2 1 l n1 k 0=3 6=1",
            "Concat cat 2 1 n2 k out 0=0",
        ],
        [],
    )
    x = rand(1, 2, 4, 3, seed=11)
    rows = [min(int(i * np.float32(1 / 2.5)), 3) for i in range(10)]  # ncnn: (int)(y * (1 / scale))
    nearest = x[:, :, rows][:, :, :, [0, 0, 1, 1, 2, 2]]
    linear = F.interpolate(x, size=(7, 5), mode="bilinear", align_corners=False)
    cubic = F.interpolate(linear, size=(10, 6), mode="bicubic", align_corners=True)
    close(network(path)(x), torch.cat([nearest, cubic], dim=1))


def test_pixel_shuffle_both_channel_orders(tmp_path):
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "Split sp 1 2 data a b",
            "PixelShuffle p0 1 1 a x 0=2",
            "PixelShuffle p1 1 1 b y 0=2 1=1",
            "Concat cat 2 1 x y out 0=0",
        ],
        [],
    )
    x = rand(1, 8, 3, 2, seed=12)
    dcr = torch.zeros(1, 2, 6, 4)
    for p in range(2):
        for sh in range(2):
            for sw in range(2):
                dcr[0, p, sh::2, sw::2] = x[0, (sh * 2 + sw) * 2 + p]
    close(network(path)(x), torch.cat([F.pixel_shuffle(x, 2), dcr], dim=1))


def test_crop_numpy_slices_fixed_offsets_and_reference(tmp_path):
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "Split sp 1 3 data a b c",
            "Crop slice 1 1 a s -23309=2,1,-5 -23310=2,-1,5 -23311=2,-2,-1",
            "Crop fixed 1 1 b f 0=1 1=2 2=1 3=3 4=-233 5=2",
            "Split sf 1 2 f f1 f2",
            "Crop ref 2 1 c f1 r 0=2 1=1",
            "Concat cat 3 1 f2 r s out 0=0",
        ],
        [],
    )
    x = rand(1, 4, 6, 7, seed=13)
    expected = [x[:, 1:3, 2:, 1:4], x[:, :2, 1:5, 2:5], x[:, :, 1:5, 2:5]]
    close(network(path)(x), torch.cat(expected, dim=1))


def single(folder, line: str, blobs: tuple[bytes, ...] = ()):
    """The network ``Input -> line`` (the layer reads blob ``data`` and makes ``out``)."""
    folder.mkdir(exist_ok=True)
    return network(write_model(folder, ["Input in 0 1 data", line], list(blobs)))


def test_padding_and_pooling_with_ncnn_border_rules(tmp_path):
    x = rand(1, 2, 5, 6, seed=14)
    padded = single(tmp_path / "pad", "Padding pad 1 1 data out 0=1 1=0 2=2 3=1 4=2")(x)
    close(padded, F.pad(x, (2, 1, 1, 0), mode="reflect"))
    constant = single(tmp_path / "fill", "Padding pad 1 1 data out 0=1 3=2 5=-3.000000e+00 8=1")(x)
    close(constant, F.pad(x, (0, 2, 1, 0, 0, 1), value=-3.0))
    # Full padding mode: 5 rows, kernel 2, stride 2 -> one tail row, so the last row gets a window.
    maxed = single(tmp_path / "max", "Pooling max 1 1 data out 0=0 1=2 2=2")(x)
    assert maxed.shape[-2:] == (3, 3)
    close(maxed[..., 2, :], x[..., 4, :].reshape(1, 2, 3, 2).amax(-1))
    # Average, pads 1, kernel 3, stride 2, padding excluded from the count: a plain loop.
    averaged = single(tmp_path / "avg", "Pooling avg 1 1 data out 0=1 1=3 2=2 3=1")(x)
    height, width = 5, 6
    rows, cols = averaged.shape[-2:]
    expected = torch.zeros_like(averaged)
    for i in range(rows):
        for j in range(cols):
            ys = [y for y in range(i * 2 - 1, i * 2 + 2) if 0 <= y < height]
            xs = [c for c in range(j * 2 - 1, j * 2 + 2) if 0 <= c < width]
            expected[..., i, j] = x[..., ys, :][..., xs].mean(dim=(-2, -1))
    close(averaged, expected)


def test_scale_layer_from_second_input_and_inner_product(tmp_path):
    weight, bias = rand(3, 3, seed=15), rand(3, seed=16)
    path = write_model(
        tmp_path,
        [
            "Input in 0 1 data",
            "Split sp 1 2 data a b",
            "Pooling gap 1 1 a g 0=1 4=1",
            "InnerProduct fc 1 1 g h 0=3 1=1 2=9 9=4",
            "Scale sc 2 1 b h out 0=-233",
        ],
        [fp32(weight.flatten()), raw(bias)],
    )
    x = rand(2, 3, 4, 5, seed=17)
    gate = torch.sigmoid(F.linear(x.mean(dim=(2, 3)), weight, bias))
    close(network(path)(x), x * gate[:, :, None, None])
    # A tile's mean is not the frame's: such networks run whole unless a tile size is asked for.
    assert load_ncnn_descriptor(path).tiling.name == "DISCOURAGED"


# ------------------------------------------------------------------------------ weight storage


def test_fp16_storage_gives_the_fp16_rounded_weights(tmp_path):
    weight = rand(2, 3, 3, 3, seed=18)
    layer = "Convolution conv 1 1 data out 0=2 1=3 4=1 6=54"
    path = write_model(tmp_path, ["Input in 0 1 data", layer], [fp16(weight.flatten())])
    x = rand(1, 3, 5, 5, seed=19)
    close(network(path)(x), F.conv2d(x, weight.half().float(), padding=1))
    assert (network(path)(x) - F.conv2d(x, weight, padding=1)).abs().max() > 1e-6  # really rounded


def test_eight_bit_table_storage_is_decoded(tmp_path):
    table = np.linspace(-1, 1, 256, dtype=np.float32)
    indices = np.array([0, 255, 128, 7], dtype=np.uint8)
    blob = b"\x01\x00\x00\x00" + raw(table) + indices.tobytes()
    path = write_model(tmp_path, ["Input in 0 1 data", "Convolution conv 1 1 data out 0=1 1=1 6=4"], [blob])
    x = rand(1, 4, 2, 2, seed=20)
    expected = F.conv2d(x, torch.from_numpy(table[indices]).view(1, 4, 1, 1))
    close(network(path)(x), expected)


def test_quantised_int8_weights_are_refused(tmp_path):
    blob = INT8_TAG.to_bytes(4, "little") + bytes(4)
    path = write_model(tmp_path, ["Input in 0 1 data", "Convolution conv 1 1 data out 0=1 1=1 6=4"], [blob])
    with pytest.raises(NcnnModelError, match="quantised int8"):
        network(path)


# ------------------------------------------------------------------- descriptors and geometry


def test_trimming_network_is_padded_back_to_an_exact_scale(tmp_path):
    """A waifu2x-style network (valid convolution): output 2n - 4 is padded and cropped to 2n."""
    weight = rand(12, 3, 3, 3, seed=21)
    layers = [
        "Input in 0 1 data 2=3",
        "Convolution conv 1 1 data c 0=12 1=3 6=324",
        "PixelShuffle ps 1 1 c out 0=2",
    ]
    path = write_model(tmp_path, layers, [fp32(weight.flatten())])
    descriptor = load_ncnn_descriptor(path)
    geometry = descriptor.model.geometry
    assert (descriptor.scale, geometry.offset, descriptor.size_requirements.multiple_of) == (2, -4, 1)
    x = rand(1, 3, 9, 7, seed=22) + 0.5
    expected = F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), weight), 2)
    close(descriptor.model(x), expected)


def test_downsampling_network_gets_a_size_multiple_and_odd_frames_work(tmp_path):
    down, up = rand(8, 3, 2, 2, seed=23), rand(12, 8, 2, 2, seed=24)
    layers = [
        "Input in 0 1 data",
        "Convolution down 1 1 data d 0=8 1=2 3=2 6=96",
        "Deconvolution up 1 1 d u 0=12 1=2 3=2 6=384",
        "PixelShuffle ps 1 1 u out 0=2",
    ]
    path = write_model(tmp_path, layers, [fp32(down.flatten()), fp32(up.flatten())])
    descriptor = load_ncnn_descriptor(path)
    multiple = descriptor.size_requirements.multiple_of
    assert (descriptor.scale, multiple, descriptor.input_channels) == (2, 2, 3)
    upscaler = create_upscaler(str(path), "cpu")
    frames = torch.rand(1, 3, 9, 7, generator=torch.Generator().manual_seed(25))
    assert upscaler.upscale(frames, (18, 14)).shape == (1, 3, 18, 14)


def test_fp16_on_request(tmp_path):
    weight = rand(12, 3, 3, 3, seed=26) * 0.3
    layers = [
        "Input in 0 1 data",
        "Convolution conv 1 1 data c 0=12 1=3 4=1 6=324",
        "PixelShuffle ps 1 1 c out 0=2",
    ]
    path = write_model(tmp_path, layers, [fp16(weight.flatten())])
    frames = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(27))
    full = create_upscaler(str(path), "cpu", half=False)
    half = create_upscaler(str(path), "cpu", half=True)
    assert (full.dtype, half.dtype) == (torch.float32, torch.float16)
    difference = (full.run_native(frames) - half.run_native(frames)).abs().max().item()
    assert 0 < difference < 1e-2


# ------------------------------------------------------------------------- refusals, one line


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("ncnn_clip") / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x24:rate=10", "-frames:v", "2", str(path))
    return path


def _refused(tmp_path, clip, model, message):
    output = tmp_path / "out.mp4"
    code, _, stderr = main_in_process([clip, "--sr", model, "--scale", 2, "-o", output, "--device", "cpu"])
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], stderr
    assert "Traceback" not in stderr and not output.exists()


def test_unknown_layer_is_refused_in_one_line(tmp_path, tiny_clip):
    path = write_model(tmp_path, ["Input in 0 1 data", "LSTM lstm 1 1 data out 0=4"], [])
    _refused(tmp_path, tiny_clip, path, "layer 'lstm' (line 4) has type LSTM")


def test_truncated_bin_is_refused_in_one_line(tmp_path, tiny_clip):
    weight = fp32(rand(12, 3, 3, 3, seed=28).flatten())
    path = write_model(
        tmp_path, ["Input in 0 1 data", "Convolution conv 1 1 data out 0=12 1=3 4=1 6=324"], [weight[:-10]]
    )
    _refused(tmp_path, tiny_clip, path, "net.bin: truncated")


def test_missing_bin_is_refused_in_one_line(tmp_path, tiny_clip):
    path = write_model(tmp_path, ["Input in 0 1 data", "ReLU r 1 1 data out"], [])
    path.with_suffix(".bin").unlink()
    _refused(tmp_path, tiny_clip, path, "its weights file net.bin is missing")


# --------------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def real_frame():
    """The real frame (1, 3, 180, 320) and the ncnn runtime's float output for it (1, 3, 720, 1280)."""
    frame = read_image(shared_file(*REAL, "input_bbb_320x180.png"))
    reference = read_image(shared_file(*REAL, "ncnn_output_bbb_1280x720.png"))
    assert frame.dtype == np.uint8 and reference.dtype == np.uint16

    def to_tensor(image: np.ndarray, top: float) -> torch.Tensor:  # (1, 3, H, W) float32
        return torch.from_numpy(image.astype(np.float32) / top).permute(2, 0, 1)[None]

    return to_tensor(frame, 255.0), to_tensor(reference, 65535.0)


@pytest.fixture(scope="module")
def real_output(real_frame):
    upscaler = create_upscaler(str(shared_file(*REAL, "realesr-animevideov3-x4.param")), "cpu", tile=0)
    with torch.inference_mode():
        return upscaler.run_native(real_frame[0])


def test_real_param_reproduces_the_ncnn_runtime(real_frame, real_output):
    reference = real_frame[1]
    assert real_output.shape == reference.shape == (1, 3, 720, 1280)
    # The reference is stored as round(out * 65535): up to 7.6e-6 of that is the 16-bit rounding.
    difference = (real_output - reference).abs()
    assert difference.max().item() <= 1e-5, difference.max().item()  # measured 8.1e-6
    # In the reference's own 16-bit levels: at most one level off, and only at rounding ties.
    levels = ((real_output.double() * 65535).round() - (reference.double() * 65535).round()).abs()
    assert levels.max().item() <= 1 and (levels > 0).double().mean().item() < 0.01  # measured 0.32 %


def test_real_param_matches_the_pytorch_weights(real_frame, real_output):
    spandrel_model = create_upscaler(str(shared_file(*REAL, "realesr-animevideov3-x4.pth")), "cpu", tile=0)
    with torch.inference_mode():
        expected = spandrel_model.run_native(real_frame[0])
    assert (real_output - expected).abs().max().item() <= 1e-5


def test_real_param_tiled_equals_whole(real_frame):
    """Tiles with the default 32-pixel overlap reproduce the whole frame (receptive field 17 pixels)."""
    crop = real_frame[0][..., 60:124, 100:164]
    path = str(shared_file(*REAL, "realesr-animevideov3-x4.param"))
    with torch.inference_mode():
        whole = create_upscaler(path, "cpu", tile=0).run_native(crop)
        tiled = create_upscaler(path, "cpu", tile=32).run_native(crop)
    assert whole.shape == (1, 3, 256, 256)
    assert (whole - tiled).abs().max().item() < 1e-4


def test_real_param_through_the_command_line(tmp_path, real_frame):
    source = tmp_path / "frame.mkv"
    frame = shared_file(*REAL, "input_bbb_320x180.png")
    ffmpeg("-i", str(frame), "-c:v", "ffv1", "-pix_fmt", "gbrp", str(source))
    output = tmp_path / "x4.mkv"
    model = shared_file(*REAL, "realesr-animevideov3-x4.param")
    code, _, stderr = main_in_process(
        [source, "--sr", model, "--scale", 4, "--codec", "ffv1", "-o", output, "--device", "cpu", "--quiet"]
    )
    assert code == 0, stderr
    frames = decode_all(output)
    assert frames.shape == (1, 720, 1280, 3)
    # Against the reference rounded to 8 bits as the encoder rounds: only rounding ties may differ.
    expected = (real_frame[1][0].permute(1, 2, 0).double().numpy() * 255.0).round()
    error = np.abs(frames[0].astype(np.float64) - expected)
    assert error.mean() <= 0.5, (error.mean(), error.max())


def test_restore_models_describes_an_ncnn_file():
    """``restore models FILE.param`` reads the graph with the ncnn loader (not the spandrel one)."""
    path = shared_file(*REAL, "realesr-animevideov3-x4.param")
    code, stdout, stderr = main_in_process(["models", path])
    assert code == 0, stderr
    fields = dict(line.split(":", 1) for line in stdout.strip().splitlines())
    assert fields["architecture"].strip() == "ncnn" and fields["scale"].strip() == "4x"
    assert fields["parameters"].strip() == "621,424"  # SRVGGNetCompact, as the .pth of the same weights
