"""A recording stand-in for the `tensorrt` module, generated from one version's manifest
(shared/reference/tensorrt_api/python_api_<version>.json, extracted from NVIDIA's bindings).

It exposes exactly the names that version has (classes with their members, enums with their members, module
functions and attributes) and refuses every other one with AttributeError, as the real module would. Calls and
property writes are recorded; return values come from `script` ("Class.member" -> value or callable(self, *args)),
else from RETURNS (factory methods hand back instances of the class they return in TensorRT), else None.
This is the only fake in the test suite: TensorRT cannot be installed on CPU-only machines."""

from __future__ import annotations

import functools
import json
import types
from pathlib import Path

MANIFESTS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "tensorrt_api"
VERSIONS = ("10.3.0", "10.8.0", "10.16.0", "11.0.0", "11.1.0")

RETURNS = {  # what TensorRT's factory methods return, so the adapter can keep calling
    "Builder.create_network": "INetworkDefinition",
    "Builder.create_builder_config": "IBuilderConfig",
    "Builder.create_optimization_profile": "IOptimizationProfile",
    "IBuilderConfig.create_timing_cache": "ITimingCache",
    "IBuilderConfig.get_timing_cache": "ITimingCache",
    "OnnxParser.get_error": "ParserError",
    "Runtime.deserialize_cuda_engine": "ICudaEngine",
    "ICudaEngine.create_engine_inspector": "EngineInspector",
    "ICudaEngine.create_execution_context": "IExecutionContext",
}
DEFAULTS = {  # plain values for a successful build
    "Builder.build_serialized_network": b"PLAN",
    "IBuilderConfig.set_timing_cache": True,
    "IBuilderConfig.add_optimization_profile": 0,
    "ITimingCache.combine": True,
    "ITimingCache.serialize": b"TIMING",
    "OnnxParser.parse_from_file": True,
    "OnnxParser.num_errors": 0,
    "ICudaEngine.num_io_tensors": 0,
    "EngineInspector.get_engine_information": '{"Layers": [], "Bindings": []}',
}
_SETTABLE = {"property", "attribute", "readwrite", "def_readwrite", "static_property"}


@functools.cache
def manifest(version: str) -> dict:
    return json.loads((MANIFESTS / f"python_api_{version}.json").read_text())


class FakeEnumMember:
    def __init__(self, enum: str, name: str, value: int):
        self.enum, self.name, self.value = enum, name, value

    def __int__(self) -> int:
        return self.value

    def __eq__(self, other) -> bool:
        return isinstance(other, FakeEnumMember) and (other.enum, other.name) == (self.enum, self.name)

    def __hash__(self) -> int:
        return hash((self.enum, self.name))

    def __repr__(self) -> str:
        return f"{self.enum}.{self.name}"


class FakeEnum:
    def __init__(self, name: str, members: list[str]):
        self._name = name
        self._members = {m: FakeEnumMember(name, m, i) for i, m in enumerate(members)}

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_members"][name]
        except KeyError:
            raise AttributeError(f"type object '{self._name}' has no attribute '{name}'") from None


class Recorder:
    def __init__(self, script: dict | None = None):
        self.calls: list[tuple[str, tuple, dict]] = []
        self.script = {**DEFAULTS, **(script or {})}

    def args_of(self, qualname: str) -> list[tuple]:
        return [args for name, args, _ in self.calls if name == qualname]

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


class FakeObject:
    """Base of every generated class; `_trt`, `_members`, `_kinds`, `_ctor`, `_module` are set per class."""

    def __init__(self, *args, **kwargs):
        cls = self._trt_class()
        if not cls._ctor:
            raise TypeError(f"tensorrt.{cls._trt}: No constructor defined!")
        object.__setattr__(self, "_props", {})
        cls._module.recorder.calls.append((f"{cls._trt}.__init__", args, kwargs))

    @classmethod
    def _trt_class(cls):
        return next(c for c in cls.__mro__ if c.__dict__.get("_generated"))

    def __getattr__(self, name: str):
        cls = self._trt_class()
        if name.startswith("__") or name not in cls._members:
            raise AttributeError(f"'tensorrt.{cls._trt}' object has no attribute '{name}'")
        qualname, recorder = f"{cls._trt}.{name}", cls._module.recorder
        if cls._kinds.get(name) == "method":
            return functools.partial(self._call, qualname)
        props = self.__dict__.setdefault("_props", {})
        if name in props:
            return props[name]
        value = recorder.script.get(qualname)
        return value(self) if callable(value) else value

    def _call(self, qualname: str, *args, **kwargs):
        module = self._trt_class()._module
        module.recorder.calls.append((qualname, args, kwargs))
        if qualname in module.recorder.script:
            value = module.recorder.script[qualname]
            return value(self, *args, **kwargs) if callable(value) else value
        return instance(getattr(module, RETURNS[qualname])) if qualname in RETURNS else None

    def __setattr__(self, name: str, value) -> None:
        cls = self._trt_class()
        if name not in cls._members:
            if type(self) is not cls:  # a user subclass (ILogger, IProgressMonitor) keeps its own state
                object.__setattr__(self, name, value)
                return
            raise AttributeError(f"'tensorrt.{cls._trt}' object has no attribute '{name}'")
        if cls._kinds.get(name) not in _SETTABLE:
            raise AttributeError(f"tensorrt.{cls._trt}.{name} is not writable ({cls._kinds.get(name)})")
        cls._module.recorder.calls.append((f"{cls._trt}.{name}=", (value,), {}))
        self.__dict__.setdefault("_props", {})[name] = value


def instance(cls):
    """An object TensorRT hands out (no Python constructor needed, as for INetworkDefinition)."""
    obj = object.__new__(cls)
    object.__setattr__(obj, "_props", {})
    return obj


class FakeTensorRT(types.ModuleType):
    def __getattr__(self, name: str):
        raise AttributeError(f"module 'tensorrt' {self.__version__} has no attribute '{name}'")


def make_module(version: str, script: dict | None = None) -> FakeTensorRT:
    m = manifest(version)
    module = FakeTensorRT("tensorrt")
    module.__version__ = f"{m['tensorrt_version']}.{m.get('tensorrt_build') or 0}"
    module.recorder = Recorder(script)
    enums = {name: FakeEnum(name, members) for name, members in m["enums"].items()}
    additions = m["python_package_additions"]
    for name, enum in enums.items():
        if "." not in name:
            setattr(module, name, enum)
    for name, members in m["classes"].items():
        kinds = m["member_kinds"].get(name, {})
        attrs = {"_generated": True, "_trt": name, "_members": set(members) | set(additions["class_attributes"]
                 .get(name, [])), "_kinds": kinds, "_ctor": name in m["classes_with_python_constructor"],
                 "_module": module}
        attrs.update(_class_level_enums(name, members, kinds, enums, m))
        setattr(module, name, type(name, (FakeObject,), attrs))
    for name in [*m["functions"], *additions["functions"]]:
        setattr(module, name, functools.partial(_module_call, module, name))
    for name in m["module_attributes"]:
        setattr(module, name, FakeEnumMember("module", name, 0))
    return module


def _module_call(module, name, *args, **kwargs):
    module.recorder.calls.append((name, args, kwargs))
    return module.recorder.script.get(name)


def _class_level_enums(cls: str, members: list[str], kinds: dict, enums: dict, m: dict) -> dict:
    """Nested enums (ILogger.Severity) and their exported values (ILogger.WARNING) as class attributes."""
    lineage = [cls, *m["class_bases"].get(cls, [])]
    nested = {member: next((enums[f"{c}.{member}"] for c in lineage if f"{c}.{member}" in enums), None)
              for member in members if kinds.get(member) == "nested_enum"}
    if cls == "Logger" and "Severity" not in nested:  # added by the wheel's __init__.py
        nested["Severity"] = enums.get("ILogger.Severity")
    found = {k: v for k, v in nested.items() if v is not None}
    for member in members:
        if kinds.get(member) == "exported_enum_value":
            found[member] = next(getattr(e, member) for e in found.values() if member in e._members)
    return found
