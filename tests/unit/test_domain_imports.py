"""The domain stands on its ports: importing the services loads no AWS SDK, no
HTTP client and no powertools (each path loads those in its adapters)."""

from __future__ import annotations

import subprocess
import sys

from local.template import ROOT

PROBE = """
import sys
import aculab_messaging.logic.ingest, aculab_messaging.logic.reconcile, aculab_messaging.logic.sending
print(sorted(m for m in ("boto3", "botocore", "requests", "aws_lambda_powertools") if m in sys.modules))
"""


def test_the_services_import_no_sdk_no_http_client_no_powertools() -> None:
    # given a fresh interpreter / when it imports the three services / then none of those packages came along
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}"})
    assert out.stdout.strip() == "[]"
