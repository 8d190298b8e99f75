"""The one registry shape (``dain.registry``) and the four tables built with it."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dain.descriptor import InterpolatorDescriptor, Tiling
from dain.engines import INTERPOLATORS, Interpolator, available_interpolators, create_interpolator
from dain.errors import EngineUnavailableError, UnknownNameError, UserError
from dain.registry import Registry
from restore.stages.base import STAGES
from restore.stages.colorize.stage import COLORIZERS, ENGINES
from restore.upscale.base import UPSCALERS, available_upscalers

ROOT = Path(__file__).resolve().parents[1]


def test_entries_load_lazily_and_create_with_options():
    registry = Registry("thing", {"fraction": "fractions:Fraction", "path": "pathlib:PurePosixPath"})
    assert registry.names() == ["fraction", "path"] and "path" in registry and len(registry) == 2
    assert registry.create("fraction", 3, 6) == 0.5
    assert str(registry.create("path", "a", "b")) == "a/b"
    assert registry.target("path") == "pathlib:PurePosixPath"


def test_unknown_name_is_one_line_listing_the_choices():
    registry = Registry("thing", {"b": "fractions:Fraction", "a": "fractions:Fraction"})
    with pytest.raises(UnknownNameError) as error:
        registry.create("c")
    assert str(error.value) == "unknown thing 'c'; choose one of: b, a"
    # a user error, and a ValueError/KeyError for callers written before the error hierarchy
    assert all(isinstance(error.value, kind) for kind in (UserError, ValueError, KeyError))
    custom = Registry(
        "thing", {"a": "fractions:Fraction"}, unknown_message="--thing: no {name!r} ({choices})"
    )
    with pytest.raises(UnknownNameError, match=r"^--thing: no 'x' \(a\)$"):
        custom.check("x")


def test_a_missing_module_is_unavailable_but_a_missing_dependency_is_a_bug(tmp_path, monkeypatch):
    registry = Registry(
        "stage",
        {"gone": "no_such_module_here:make", "broken": "broken_stage_module:make"},
        unavailable_message="--{name} is not available in this version",
    )
    with pytest.raises(EngineUnavailableError, match=r"^--gone is not available in this version$"):
        registry.create("gone")
    (tmp_path / "broken_stage_module.py").write_text("import no_such_dependency_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_here"):
        registry.create("broken")


def test_malformed_entries_are_refused():
    with pytest.raises(ValueError, match="module:factory"):
        Registry("thing", {"x": "fractions.Fraction"})


def test_interpolators_keep_their_names_and_message():
    assert available_interpolators() == ["blend", "classic", "classic-fast", "dain", "repeat", "rife"]
    assert INTERPOLATORS.target("dain") == "dain.engines.dain:create_dain_interpolator"
    with pytest.raises(
        ValueError,
        match=r"^unknown interpolator 'magic'; choose one of: "
        r"blend, classic, classic-fast, dain, repeat, rife$",
    ):
        create_interpolator("magic")


@pytest.mark.parametrize("name", ["blend", "repeat", "classic", "classic-fast"])
def test_every_interpolator_carries_a_descriptor(name):
    engine = create_interpolator(name, device="cpu")
    assert isinstance(engine, Interpolator) and engine.name == name
    descriptor = engine.descriptor
    assert isinstance(descriptor, InterpolatorDescriptor) and descriptor.scale == 1
    assert descriptor.size_multiple >= 1 and isinstance(descriptor.tiling, Tiling)


def test_dain_descriptor_lets_the_tiler_and_fp16_in():
    from dain.engines.dain import DainInterpolator

    assert DainInterpolator.descriptor == InterpolatorDescriptor(supports_half=True, tiling=Tiling.SUPPORTED)


def test_upscalers_stages_and_colorizers_use_the_same_shape():
    assert available_upscalers() == ["anime4k", "lanczos"] and isinstance(UPSCALERS, Registry)
    assert STAGES.names() == ["clean", "colorize"]  # pipeline order
    assert ENGINES == ("auto", "reference", "eccv16", "siggraph17", "ddcolor") == tuple(COLORIZERS.names())
    choices = "auto, reference, eccv16, siggraph17, ddcolor"
    with pytest.raises(ValueError, match=f"^--colorize-engine: unknown engine 'x'; choose from {choices}$"):
        COLORIZERS.check("x")


def test_listing_engines_imports_no_engine_and_no_torch():
    code = (
        "import sys\n"
        "from dain.engines import available_interpolators\n"
        "assert available_interpolators()\n"
        "heavy = ('torch', 'dain.engines.dain', 'dain.engines.classic.engine')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_create_passes_the_device_as_a_torch_device():
    engine = create_interpolator("blend", device="cpu")
    assert engine.device == torch.device("cpu")
