"""A function using everything the agent offers: AWS SDK calls, HTTP calls, logs, custom spans and metrics.

Deployed with the zerolag layer; the one line that matters is ``@instrument``. The event may name an HTTP
URL to call (``{"url": ...}``); the AWS endpoint comes from ``AWS_ENDPOINT_URL`` as usual.
"""

from __future__ import annotations

import logging
import urllib.request

import boto3

from zerolag.agent import counter, histogram, instrument, span, traced

logger = logging.getLogger("orders")
logger.setLevel(logging.INFO)
sqs = boto3.client("sqs")
s3 = boto3.client("s3")


@traced()
def price(items: int) -> float:
    return items * 2.5


@instrument
def handler(event: dict, context: object) -> dict:
    logger.info("order received: %s items", event.get("items", 1))
    print("processing order", event.get("order_id"))
    with span("validate", order_id=event.get("order_id")) as s:
        s.set_attribute("valid", True)
    total = price(int(event.get("items", 1)))
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=str(total))
    s3.create_bucket(Bucket="receipts")
    s3.put_object(Bucket="receipts", Key=f"{event.get('order_id')}.txt", Body=b"ok")
    if event.get("url"):
        with urllib.request.urlopen(event["url"], timeout=10) as resp:
            status = resp.status
    else:
        status = 0
    counter("orders.placed", 1, unit="{order}", channel=event.get("channel", "web"))
    histogram("orders.total", total, unit="EUR")
    logger.warning("order done")
    return {"statusCode": 200, "body": str(total), "http": status, "queue": queue_url}
