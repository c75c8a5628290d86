"""template.yaml -> CloudFormation, offline, with samtranslator.

The one source of truth: tests, cfn-lint and the local stack all read the
resources from here, never from a second hand-written copy.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
PLACEHOLDER_BUCKET = "local-artifacts"
REGION = "eu-west-1"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation short-form tags (!Ref, !GetAtt, !Sub ...)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_sam(path: Path = TEMPLATE) -> dict[str, Any]:
    loader = _CfnLoader(path.read_text())  # a SafeLoader that knows CloudFormation's tags
    try:
        data: dict[str, Any] = loader.get_single_data()
    finally:
        loader.dispose()
    return data


def to_cloudformation(sam: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Translate the SAM template; local CodeUri/ContentUri become placeholder S3 URIs."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    # samtranslator's own usage metrics are never published offline: its warning says nothing about ours
    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
    template = copy.deepcopy(sam if sam is not None else load_sam())
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{PLACEHOLDER_BUCKET}/{props[key].strip('/')}.zip"
    params = dict(parameters or {})
    to_py27_compatible_template(template, params)
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="offline", aws_secret_access_key="offline")  # nosec B106
    translator = Translator(None, Parser(), boto_session=session)
    translated = translator.translate(template, parameter_values=params, get_managed_policy_map=dict)
    result: dict[str, Any] = undo_mark_unicode_str_in_template(translated)
    return result


def main() -> None:
    """``python -m local.template out.json``: write the translated template."""
    import sys

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "template.cfn.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_cloudformation(), indent=1, default=str))
    print(f"translated {TEMPLATE.name} -> {out}")


if __name__ == "__main__":
    main()
