import pytest

from trtbuild.tensorrt.version import TrtVersion, parse_trtexec_tag, parse_version


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


def test_str():
    assert str(TrtVersion(10, 3, 0)) == "10.3.0" and parse_version("1.7.1.116") == (1, 7, 1)
