"""An API Gateway (HTTP API, payload v2) handler: orders in DynamoDB, receipts in S3, prices from an upstream
HTTP service. No zerolag code: the exec wrapper instruments boto3, urllib and the logs.

Environment: ``ORDERS_TABLE``, ``RECEIPTS_BUCKET``, ``PRICING_URL`` (the upstream), and ``AWS_ENDPOINT_URL``
in the demo (moto's server).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

import boto3

logger = logging.getLogger("orders-api")
logger.setLevel(logging.INFO)

dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
TABLE = os.environ.get("ORDERS_TABLE", "orders")
BUCKET = os.environ.get("RECEIPTS_BUCKET", "receipts")


def _price(sku: str) -> float:
    url = f"{os.environ['PRICING_URL']}?sku={sku}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return float(json.loads(response.read())["price"])


def _reply(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def create_order(event: dict[str, Any]) -> dict[str, Any]:
    order = json.loads(event.get("body") or "{}")
    order_id, sku, quantity = str(order["id"]), str(order.get("sku", "book")), int(order.get("quantity", 1))
    total = _price(sku) * quantity
    dynamodb.put_item(
        TableName=TABLE,
        Item={"id": {"S": order_id}, "sku": {"S": sku}, "total": {"N": f"{total:.2f}"}},
    )
    s3.put_object(Bucket=BUCKET, Key=f"receipts/{order_id}.json", Body=json.dumps({"total": total}).encode())
    logger.info("order %s placed: %s x %s = %.2f", order_id, quantity, sku, total)
    return _reply(201, {"id": order_id, "total": total})


def get_order(event: dict[str, Any]) -> dict[str, Any]:
    order_id = event["pathParameters"]["id"]
    item = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": order_id}}).get("Item")
    if item is None:
        logger.warning("order %s not found", order_id)
        return _reply(404, {"error": "not found"})
    return _reply(200, {"id": order_id, "sku": item["sku"]["S"], "total": float(item["total"]["N"])})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event.get("routeKey", "")
    if route == "POST /orders":
        return create_order(event)
    if route == "GET /orders/{id}":
        return get_order(event)
    return _reply(404, {"error": f"no route {route}"})
