"""``restore pair A B -o OUT``: one image per phase."""

from __future__ import annotations

import cv2
import numpy as np

from tests.conftest import run_restore, run_restore_here, shared_file


def _write(path, rgb):
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_one_phase_to_a_file(tmp_path):
    a = np.zeros((40, 60, 3), np.uint8)
    b = np.full((40, 60, 3), 200, np.uint8)
    _write(tmp_path / "a.png", a)
    _write(tmp_path / "b.png", b)
    out = tmp_path / "mid.png"
    result = run_restore_here("pair", tmp_path / "a.png", tmp_path / "b.png", "-o", out, "--interp", "blend")
    assert result.returncode == 0, result.stderr
    mid = cv2.imread(str(out))
    assert mid.shape == (40, 60, 3) and abs(int(mid.mean()) - 100) <= 1


def test_several_phases_to_a_folder(tmp_path):
    triplet = shared_file("interp", "vimeo_00001_0266")
    out = tmp_path / "phases"
    result = run_restore_here(
        "pair", triplet / "f0.png", triplet / "f2.png", "-o", out, "--times", "0.25,0.5,0.75"
    )
    assert result.returncode == 0, result.stderr
    written = sorted(out.glob("*.png"))
    assert [p.name for p in written] == ["phase_0.2500.png", "phase_0.5000.png", "phase_0.7500.png"]
    truth = cv2.imread(str(triplet / "f1.png")).astype(np.float64)
    middle = cv2.imread(str(out / "phase_0.5000.png")).astype(np.float64)
    psnr = 10 * np.log10(255**2 / np.mean((middle - truth) ** 2))
    assert psnr > 30, f"the default engine's half-way frame is poor: {psnr:.2f} dB"


def test_sixteen_bit_images_stay_sixteen_bit(tmp_path):
    a = np.zeros((8, 8, 3), np.uint16)
    b = np.full((8, 8, 3), 60000, np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), b)
    out = tmp_path / "mid.png"
    assert (
        run_restore_here(
            "pair", tmp_path / "a.png", tmp_path / "b.png", "-o", out, "--interp", "blend"
        ).returncode
        == 0
    )
    mid = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert mid.dtype == np.uint16 and abs(int(mid.mean()) - 30000) <= 1


def test_pair_errors(tmp_path):
    _write(tmp_path / "a.png", np.zeros((10, 10, 3), np.uint8))
    _write(tmp_path / "b.png", np.zeros((12, 10, 3), np.uint8))
    (tmp_path / "bad.png").write_text("no image")
    cases = [
        (("pair", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "o.png"), "differ in size"),
        (("pair", tmp_path / "a.png", tmp_path / "nope.png", "-o", tmp_path / "o.png"), "not found"),
        (("pair", tmp_path / "a.png", tmp_path / "bad.png", "-o", tmp_path / "o.png"), "cannot read"),
        (
            ("pair", tmp_path / "a.png", tmp_path / "a.png", "-o", tmp_path / "o.png", "--times", "1.5"),
            "--times",
        ),
        (
            ("pair", tmp_path / "a.png", tmp_path / "a.png", "-o", tmp_path / "o.png", "--times", "x"),
            "--times",
        ),
    ]
    for args, needle in cases:
        result = run_restore(*args)
        assert result.returncode == 2, result.stderr
        assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "o.png").exists()


def test_bad_options_are_refused_before_torch_loads(tmp_path):
    """Every check of ``restore pair`` runs before torch is imported, so a mistake costs no start-up."""
    import subprocess
    import sys

    _write(tmp_path / "a.png", np.zeros((10, 10, 3), np.uint8))
    _write(tmp_path / "b.png", np.zeros((12, 10, 3), np.uint8))
    a, b, out = (str(tmp_path / name) for name in ("a.png", "b.png", "o.png"))
    cases = [
        [a, b, "-o", out],
        [a, a, "-o", out, "--times", "x"],
        [a, a, "-o", out, "--interp", "magic"],
        [a, a, "-o", out, "--device", "tpu"],
        [a, a, "-o", out, "--dain-weights", a],
        [a, a, "-o", str(tmp_path / "no" / "o.png")],
    ]
    script = (
        "import sys\nfrom restore.cli import main\n"
        "try:\n    main(['pair', *sys.argv[1:]])\nexcept SystemExit as done:\n    code = done.code\n"
        "print(code, 'torch' in sys.modules)\n"
    )
    for args in cases:
        result = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.stdout.split() == ["2", "False"], (args, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
