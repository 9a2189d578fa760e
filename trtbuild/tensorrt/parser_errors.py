"""ONNX parser failures in words: every error for the log, the first failing node for the one-line message."""

from __future__ import annotations


def describe_parser_error(error) -> str:
    """A `trt.ParserError` (node_name/node_operator/desc are methods) -> 'node Conv_12 (Conv): <desc>'."""
    name, op = error.node_name() or "?", error.node_operator() or "?"
    return f"node {name} ({op}): {' '.join(str(error.desc()).split())}"


def parse_failure(onnx_name: str, errors: list) -> tuple[list[str], str]:
    """-> (log lines, one-line message naming the first failing node)."""
    lines = [f"parser error {i + 1}/{len(errors)}: {describe_parser_error(e)}" for i, e in enumerate(errors)]
    if not errors:
        return lines, f"engine: the ONNX parser rejected {onnx_name} without reporting an error"
    more = f" (+{len(errors) - 1} more in the log)" if len(errors) > 1 else ""
    return lines, f"engine: the ONNX parser cannot parse {onnx_name}: {describe_parser_error(errors[0])[:300]}{more}"
