import pytest

from trtbuild.tensorrt.version import TrtVersion, parse_trtexec_tag, parse_version, unsupported_reason


@pytest.mark.parametrize(("text", "expected"), [
    ("10.3.0.26", (10, 3, 0)), ("11.1.0", (11, 1, 0)), ("10.16.0.72", (10, 16, 0)), ("10.8", (10, 8, 0)),
    ("10.13.2.6.post1", (10, 13, 2)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_parse_rejects_garbage():
    with pytest.raises(ValueError, match="not a TensorRT version"):
        parse_version("stub")


@pytest.mark.parametrize(("tag", "expected"), [("100300", (10, 3, 0)), ("101600", (10, 16, 0)), ("110100", (11, 1, 0))])
def test_trtexec_tag(tag, expected):
    assert parse_trtexec_tag(tag) == expected


@pytest.mark.parametrize("ok", ["10.3.0", "10.8.0", "10.16.0", "11.0.0", "11.1.0", "11.5.2"])
def test_supported(ok):
    assert unsupported_reason(parse_version(ok)) is None


@pytest.mark.parametrize(("bad", "why"), [
    ("10.1.0", "known build regressions"), ("10.2.0", "known build regressions"),
    ("10.0.1", "outside the supported range"), ("8.6.1", "outside"), ("12.0.0", "outside"),
])
def test_unsupported(bad, why):
    assert why in unsupported_reason(parse_version(bad))


def test_strongly_typed_only_from_11():
    assert TrtVersion(11, 0).strongly_typed_only and not TrtVersion(10, 16).strongly_typed_only
    assert str(TrtVersion(10, 3, 0)) == "10.3.0"
