"""A plain handler with no zerolag code at all.

The exec wrapper (AWS_LAMBDA_EXEC_WRAPPER=/opt/zerolag-wrapper) instruments it,
its AWS SDK and HTTP calls and its logs."""

from __future__ import annotations

import logging
import urllib.request

import boto3

logger = logging.getLogger("plain")
logger.setLevel(logging.INFO)


def handler(event: dict, context: object) -> dict:
    logger.info("plain handler called")
    print("plain print")
    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName="plain")
    if event.get("url"):
        with urllib.request.urlopen(event["url"], timeout=10) as resp:
            resp.read()
    if event.get("fail"):
        raise ValueError("plain failure")
    if event.get("sleep"):
        import time

        time.sleep(float(event["sleep"]))
    return {"ok": True, "echo": event.get("echo")}
