"""The pure build plan on every supported version of each flavor, and every enum name it hands the adapter checked
against that version's manifest (TensorRT 10.3-11.1 and TensorRT-RTX 1.7.1)."""

from pathlib import Path

import pytest

from trtbuild.tensorrt.flavor import TENSORRT as TRT
from trtbuild.tensorrt.flavor import TENSORRT_RTX as RTX
from trtbuild.core.errors import UsageError
from trtbuild.tensorrt.plan import make_plan, mib_to_bytes, timing_cache_path
from trtbuild.tensorrt.version import TrtVersion, parse_version

V10, V1016, V11 = TrtVersion(10, 3, 0), TrtVersion(10, 16, 0), TrtVersion(11, 1, 0)


def test_workspace_is_mib(make_recipe):
    plan = make_plan(make_recipe(engine={"workspace_mib": 4096}), TRT, V11, "8.9")
    assert plan.memory_pools == {"WORKSPACE": 4096 << 20} == {"WORKSPACE": mib_to_bytes(4096)}
    assert make_plan(make_recipe(), TRT, V11, "8.9").memory_pools == {}  # unset: TensorRT decides


def test_profiles_only_for_dynamic_inputs(make_recipe):
    (profile,) = make_plan(make_recipe(), TRT, V10, "8.9").profiles
    assert profile.shapes == {"images": ((1, 3, 640, 640), (2, 3, 640, 640), (8, 3, 640, 640))}  # not "scale"
    assert make_plan(make_recipe(dynamic=False), TRT, V10, "8.9").profiles == ()


@pytest.mark.parametrize("version", [V10, V1016])
def test_10x_graph_precision_is_strongly_typed_without_precision_flags(make_recipe, version):
    plan = make_plan(make_recipe(precision={"mode": "fp16"}), TRT, version, "8.9")
    assert plan.network_flags == ("STRONGLY_TYPED",) and plan.builder_flags == () and plan.strongly_typed


def test_10x_builder_mode_sets_fp16_and_weak_typing(make_recipe):
    plan = make_plan(make_recipe(precision={"mode": "fp16", "method": "builder"}), TRT, V10, "8.9")
    assert plan.builder_flags == ("FP16",) and plan.network_flags == () and not plan.strongly_typed
    assert plan.warnings == ()
    late = make_plan(make_recipe(precision={"mode": "fp16", "method": "builder"}), TRT, V1016, "8.9")
    assert "deprecated since TensorRT 10.12" in late.warnings[0]


def test_builder_mode_fp32_sets_no_flag(make_recipe):
    plan = make_plan(make_recipe(precision={"mode": "fp32", "method": "builder"}), TRT, V10, "8.9")
    assert plan.builder_flags == () and plan.network_flags == ()


def test_11x_has_no_precision_or_network_flags(make_recipe):
    plan = make_plan(make_recipe(precision={"mode": "fp16"}), TRT, V11, "8.9")
    assert plan.network_flags == () and plan.builder_flags == () and plan.strongly_typed


def test_11x_refuses_builder_mode(make_recipe):
    with pytest.raises(UsageError, match="precision.method: builder needs weak typing"):
        make_plan(make_recipe(precision={"mode": "fp16", "method": "builder"}), TRT, V11, "8.9")


def test_compatibility_options(make_recipe):
    plan = make_plan(make_recipe(engine={"version_compatible": True, "hardware_compatibility": "ampere_plus"}),
                     TRT, V11, "8.6")
    assert "VERSION_COMPATIBLE" in plan.builder_flags and plan.hardware_compatibility == "AMPERE_PLUS"
    with pytest.raises(UsageError, match="Ampere or newer"):
        make_plan(make_recipe(engine={"hardware_compatibility": "ampere_plus"}), TRT, V11, "7.5")
    with pytest.raises(UsageError, match="same_compute_capability needs TensorRT >= 10.16"):
        make_plan(make_recipe(engine={"hardware_compatibility": "same_compute_capability"}), TRT, TrtVersion(10, 8),
                  "8.9")


def test_timing_cache_per_version_and_compute_capability(make_recipe, tmp_path):
    plan = make_plan(make_recipe(), TRT, V1016, "8.9", tmp_path)
    assert plan.timing_cache == tmp_path / "trt-10.16.0-sm89.timing-cache" == timing_cache_path(tmp_path, "tensorrt", V1016, "8.9")
    assert make_plan(make_recipe(engine={"timing_cache": False}), TRT, V1016, "8.9", tmp_path).timing_cache is None


def test_optimization_level_and_verbosity(make_recipe):
    plan = make_plan(make_recipe(engine={"optimization_level": 5, "profiling_verbosity": "layer_names_only"}), TRT,
                     V11, "9.0")
    assert plan.optimization_level == 5 and plan.profiling_verbosity == "LAYER_NAMES_ONLY"


def _variants(make_recipe, version):
    variants = [make_recipe(), make_recipe(precision={"mode": "fp16"}),
                make_recipe(engine={"version_compatible": True, "hardware_compatibility": "ampere_plus",
                                    "workspace_mib": 512, "profiling_verbosity": "none"})]
    if version.major == 10:
        variants.append(make_recipe(precision={"mode": "fp16", "method": "builder"}))
    if version >= (10, 16):
        variants.append(make_recipe(engine={"hardware_compatibility": "same_compute_capability",
                                            "profiling_verbosity": "layer_names_only"}))
    return variants


def test_every_enum_name_the_plan_emits_exists_in_that_version(make_recipe, fake):
    for text in fake.VERSIONS:
        m = fake.manifest(text)
        for recipe in _variants(make_recipe, parse_version(text)):
            plan = make_plan(recipe, TRT, parse_version(text), "8.9", Path("/tmp"))
            used = [("NetworkDefinitionCreationFlag", f) for f in plan.network_flags]
            used += [("BuilderFlag", f) for f in plan.builder_flags]
            used += [("MemoryPoolType", p) for p in plan.memory_pools]
            used += [("HardwareCompatibilityLevel", plan.hardware_compatibility),
                     ("ProfilingVerbosity", plan.profiling_verbosity)]
            for enum, member in used:
                assert member in m["enums"][enum], f"{text}: {enum}.{member}"
                deprecated = f"{enum}.{member}" in m["deprecated"]
                # the one deprecated name allowed: FP16 in explicit builder mode on 10.12+ (warned about)
                assert not deprecated or (member == "FP16" and recipe.precision.method == "builder"), \
                    f"{text}: {enum}.{member} is deprecated"


RTX17 = TrtVersion(1, 7, 1)


def test_rtx_is_strongly_typed_only_and_refuses_builder_mode(make_recipe):
    plan = make_plan(make_recipe(precision={"mode": "fp16"}), RTX, RTX17, None)
    assert plan.strongly_typed and plan.network_flags == () and plan.builder_flags == ()
    with pytest.raises(UsageError, match="precision.method: builder needs weak typing.*TensorRT-RTX 1.7.1"):
        make_plan(make_recipe(precision={"mode": "fp16", "method": "builder"}), RTX, RTX17, None)


def test_rtx_targets_default_and_explicit(make_recipe):
    default = make_plan(make_recipe(), RTX, RTX17, None)
    assert default.compute_capabilities == () and default.runs_on == ("8.0", "8.6", "8.9", "12.0", "12.1")
    chosen = make_plan(make_recipe(engine={"compute_capabilities": ["8.6", "7.5", "8.6"]}), RTX, RTX17, None)
    assert chosen.compute_capabilities == ("SM86", "SM75") and chosen.runs_on == ("8.6", "7.5")


@pytest.mark.parametrize(("engine", "key"), [
    ({"compute_capabilities": ["9.0"]}, "engine.compute_capabilities: TensorRT-RTX cannot target 9.0"),
    ({"hardware_compatibility": "ampere_plus"}, "engine.hardware_compatibility: TensorRT-RTX has no"),
    ({"version_compatible": True}, "engine.version_compatible: TensorRT-RTX cannot build version-compatible"),
])
def test_rtx_refuses_what_it_cannot_do_naming_the_key(make_recipe, engine, key):
    with pytest.raises(UsageError, match=key):
        make_plan(make_recipe(engine=engine), RTX, RTX17, None)


def test_rtx_skips_the_timing_cache_and_hardware_level(make_recipe, tmp_path):
    plan = make_plan(make_recipe(), RTX, RTX17, None, tmp_path)
    assert plan.timing_cache is None and plan.hardware_compatibility is None  # both no-ops in TensorRT-RTX


def test_full_tensorrt_refuses_compute_capability_targets(make_recipe):
    with pytest.raises(UsageError, match="engine.compute_capabilities: TensorRT builds for the GPU it runs on"):
        make_plan(make_recipe(engine={"compute_capabilities": ["8.6"]}), TRT, V11, "8.9")


def test_every_enum_name_the_rtx_plan_emits_exists_in_its_manifest(make_recipe, fake):
    m = fake.manifest("rtx_1.7.1")
    for engine in ({}, {"compute_capabilities": ["7.5", "8.0", "8.6", "8.9", "12.0", "12.1"]},
                   {"workspace_mib": 512, "profiling_verbosity": "none"}):
        plan = make_plan(make_recipe(precision={"mode": "fp16"}, engine=engine), RTX, RTX17, None)
        used = [("ComputeCapability", c) for c in plan.compute_capabilities]
        used += [("MemoryPoolType", p) for p in plan.memory_pools] + [("ProfilingVerbosity", plan.profiling_verbosity)]
        for enum, member in used:
            assert member in m["enums"][enum] and f"{enum}.{member}" not in m["deprecated"], f"{enum}.{member}"
