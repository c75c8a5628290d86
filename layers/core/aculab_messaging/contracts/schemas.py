"""``make schemas``: write ``schemas/`` from the models (a test keeps them equal).

    python -m aculab_messaging.contracts.schemas schemas
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aculab_messaging.contracts.events import DETAIL_TYPES, detail_json_schema, schema_file_name
from aculab_messaging.contracts.queue import queue_json_schema


def generated() -> dict[str, str]:
    """Each file of ``schemas/`` (relative path) and its text."""
    from aculab_messaging.contracts.api import CampaignView, MessageView

    files = {"queue-message.json": queue_json_schema()}
    files["api/message.json"] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                 **MessageView.model_json_schema(by_alias=True, mode="serialization"),
                                 "title": "GET /messages/{message_id}"}
    files["api/campaign.json"] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                  **CampaignView.model_json_schema(by_alias=True, mode="serialization"),
                                  "title": "GET /campaigns/{campaign_id}"}
    files.update({f"events/{schema_file_name(t)}": detail_json_schema(t) for t in DETAIL_TYPES})
    return {path: json.dumps(schema, indent=2) + "\n" for path, schema in files.items()}


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "schemas")
    for path, text in generated().items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
    print(f"wrote {len(generated())} schemas to {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
