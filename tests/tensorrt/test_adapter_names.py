"""Static check of the modules that touch a TensorRT-family library: every `trt.X.Y` chain, and every member used on
a variable holding a known TensorRT object, exists in each supported version's manifest (TensorRT 10.3-11.1 and
TensorRT-RTX 1.7.1) and is not deprecated there. Names the adapter reaches dynamically (`getattr(trt.BuilderFlag,
name)`) come from the plan and are checked in test_plan."""

import ast
from pathlib import Path

import pytest

import trtbuild.runners.runtime_cache as runtime_cache_module
import trtbuild.runners.tensorrt_runner as runner_module
import trtbuild.tensorrt.python_builder as builder_module

ADAPTERS = [Path(builder_module.__file__), Path(runner_module.__file__), Path(runtime_cache_module.__file__)]
# variable (or self.attribute) name in the adapters -> the TensorRT class it holds
HOLDS = {"builder": "Builder", "network": "INetworkDefinition", "parser": "OnnxParser", "config": "IBuilderConfig",
         "profile": "IOptimizationProfile", "merged": "ITimingCache", "runtime": "Runtime", "engine": "ICudaEngine",
         "context": "IExecutionContext", "inspector": "EngineInspector", "runtime_config": "IRuntimeConfig",
         "runtime_cache": "IRuntimeCache"}
# Reached only for flavors that declare the feature (plan.compute_capabilities is empty unless the flavor builds ahead
# of time; the runtime config only when flavor.runtime_cache), so only TensorRT-RTX's manifest must have them.
RTX_ONLY = {"ComputeCapability", "CudaGraphStrategy", "IRuntimeConfig", "IRuntimeCache",
            "ICudaEngine.create_runtime_config", "IBuilderConfig.set_compute_capability",
            "IBuilderConfig.num_compute_capabilities"}
# Reached only when flavor.timing_cache (TensorRT-RTX deprecated them as no-ops in 1.2).
TRT_ONLY = {"ITimingCache", "IBuilderConfig.create_timing_cache", "IBuilderConfig.set_timing_cache",
            "IBuilderConfig.get_timing_cache"}
RTX = "rtx_1.7.1"


def _versions(fake, name: str) -> list[str]:
    """Manifests a name must be in: all of them, or one flavor's for names only that flavor's code path reaches."""
    if name in RTX_ONLY or name.split(".")[0] in RTX_ONLY:
        return [RTX]
    if name in TRT_ONLY or name.split(".")[0] in TRT_ONLY:
        return list(fake.VERSIONS)
    return [*fake.VERSIONS, RTX]
REMOVED = {"EXPLICIT_BATCH", "max_workspace_size", "build_engine", "platform_has_fast_fp16", "platform_has_fast_int8",
           "platform_has_tf32", "IInt8Calibrator", "get_binding_index", "execute_async_v2", "IParserError"}


def _chain(node) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def _uses(path: Path) -> tuple[set[tuple[str, ...]], set[tuple[str, str]]]:
    chains, members = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        chain = _chain(node) if isinstance(node, ast.Attribute) else None  # prefixes of a chain are checked too
        if not chain or len(chain) < 2:
            continue
        if chain[0] == "trt":
            chains.add(tuple(chain[1:]))
        holder = chain[1] if chain[0] == "self" and len(chain) > 2 else chain[0]
        member = chain[2] if chain[0] == "self" and len(chain) > 2 else chain[1]
        if holder in HOLDS:
            members.add((HOLDS[holder], member))
    return chains, members


@pytest.fixture(scope="module")
def uses():
    chains, members = set(), set()
    for path in ADAPTERS:
        c, m = _uses(path)
        chains |= c
        members |= m
    return chains, members


def _resolve(m: dict, chain: tuple[str, ...]) -> str | None:
    """None if `trt.<chain>` exists in manifest `m`, else the first missing name."""
    head, rest = chain[0], chain[1:]
    additions = m["python_package_additions"]
    if head in m["enums"]:
        return None if not rest or rest[0] in m["enums"][head] else f"{head}.{rest[0]}"
    if head in m["classes"]:
        members = set(m["classes"][head]) | set(additions["class_attributes"].get(head, []))
        if not rest or (rest[0] == "__init__" and head in m["classes_with_python_constructor"]):
            return None
        if rest[0] not in members:
            return f"{head}.{rest[0]}"
        nested = m["enums"].get(f"{head}.{rest[0]}")
        return None if len(rest) == 1 or (nested and rest[1] in nested) else ".".join(chain[:3])
    known = {*m["functions"], *m["module_attributes"], *additions["functions"], *additions["module_attributes"]}
    return None if head in known else head


def test_adapters_use_tensorrt(uses):
    chains, members = uses
    assert ("Builder",) in chains and ("OnnxParser",) in chains and ("Runtime",) in chains
    assert ("IBuilderConfig", "set_memory_pool_limit") in members
    assert ("IExecutionContext", "execute_async_v3") in members


def test_every_trt_chain_exists_in_every_version(uses, fake):
    chains, _ = uses
    for version in [*fake.VERSIONS, RTX]:
        m = fake.manifest(version)
        mine = [c for c in sorted(chains) if version in _versions(fake, ".".join(c))]
        missing = [".".join(c) for c in mine if _resolve(m, c)]
        assert not missing, f"{version} lacks {missing}"
        deprecated = [".".join(c[:2]) for c in mine if ".".join(c[:2]) in m["deprecated"]]
        assert not deprecated, f"{version}: deprecated {deprecated}"


def test_every_member_used_on_trt_objects_exists_in_every_version(uses, fake):
    _, members = uses
    for version in [*fake.VERSIONS, RTX]:
        m = fake.manifest(version)
        mine = [(c, a) for c, a in sorted(members) if version in _versions(fake, f"{c}.{a}")]
        missing = [f"{c}.{a}" for c, a in mine
                   if a not in m["classes"][c] and a not in m["python_package_additions"]["class_attributes"].get(c, [])]
        assert not missing, f"{version} lacks {missing}"
        deprecated = [f"{c}.{a}" for c, a in mine if f"{c}.{a}" in m["deprecated"]]
        assert not deprecated, f"{version}: deprecated {deprecated}"


def test_flavor_only_names_are_guarded_by_the_flavor():
    from trtbuild.tensorrt.flavor import TENSORRT as TRT
    from trtbuild.tensorrt.flavor import TENSORRT_RTX as RTX_FLAVOR

    assert not TRT.runtime_cache and not TRT.builds_without_gpu  # full TensorRT never reaches the RTX-only names
    assert RTX_FLAVOR.runtime_cache and RTX_FLAVOR.builds_without_gpu and RTX_FLAVOR.builtin_cuda_graph
    assert TRT.timing_cache and not RTX_FLAVOR.timing_cache  # nor TensorRT-RTX the timing-cache calls


def test_no_removed_symbol_anywhere_in_the_adapters():
    for path in ADAPTERS:
        names = {n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}
        assert not names & REMOVED, f"{path.name} uses {names & REMOVED}"


def test_stand_in_refuses_what_a_version_lacks(fake):
    v11, v103 = fake.make_module("11.0.0"), fake.make_module("10.3.0")
    for missing in (lambda: v11.BuilderFlag.FP16, lambda: v11.NetworkDefinitionCreationFlag.EXPLICIT_BATCH,
                    lambda: v11.IInt8Calibrator, lambda: v103.IParserError,
                    lambda: v103.HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY,
                    lambda: fake.instance(v103.IBuilderConfig).max_workspace_size,
                    lambda: fake.instance(v11.Builder).platform_has_fast_fp16):
        with pytest.raises(AttributeError):
            missing()
    assert v103.BuilderFlag.FP16.name == "FP16" and v11.ParserError
