"""What the guided deploy will ask, printed before it asks (``make deploy``).

``sam deploy --guided`` shows each parameter as a bare ``Parameter X [default]``.
This prints the template's own ``AWS::CloudFormation::Interface``: the first
group (the answers that matter) with each parameter's description, then the
other groups by name, whose defaults Enter keeps. Runs with any Python that
has PyYAML (aws-sam-cli's virtualenv has it): ``python tools/deploy_guide.py template.yaml``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !If ...), read as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _any_tag)


def guide(template: dict[str, Any]) -> str:
    params = template["Parameters"]
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    labels = {name: label["default"] for name, label in interface.get("ParameterLabels", {}).items()}
    first, *rest = interface["ParameterGroups"]
    lines = [f"The guided deploy asks {len(params)} parameters. {first['Label']['default']}:"]
    for name in first["Parameters"]:
        default = params[name].get("Default", "")
        lines.append(f"  {name} ({labels.get(name, name)}; default {default!r})")
        lines += textwrap.wrap(" ".join(str(params[name].get("Description", "")).split()), 96,
                               initial_indent="      ", subsequent_indent="      ")
    lines.append("Enter keeps the default of every other (README, Configuration):")
    for group in rest:
        lines += textwrap.wrap(f"{group['Label']['default']}: {', '.join(group['Parameters'])}", 100,
                               initial_indent="  ", subsequent_indent="      ")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "template.yaml")
    loader = _Loader(path.read_text())  # a SafeLoader that knows CloudFormation's tags
    try:
        template = loader.get_single_data()
    finally:
        loader.dispose()
    print(guide(template))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
