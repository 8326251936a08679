"""A delivery's iotEventsDestinationConfiguration: the content's rows sent to an IoT
Events input through the data plane's BatchPutMessage, one message a row (a JSON object
of the CSV's columns; whole numbers and decimals as numbers, as detectors compare them),
at most 10 messages a call (the API's limit), each with a message id of the version.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from iota_container.errors import IotaError
from iota_container.text import one_line

BATCH_SIZE = 10
# botocore no longer ships the IoT Events data plane's model: it is kept here.
SERVICE_MODELS = Path(__file__).with_name("service_models")


class IotEventsDeliveryFailed(IotaError):
    """IoT Events did not take the content's messages."""


def send_rows(client: Any | None, input_name: str, csv_file: Path, version_id: str) -> int:
    """Send every row; the number sent. Stops at the first batch refused."""
    from botocore.exceptions import BotoCoreError, ClientError

    iot_events = client or iot_events_data_client()
    sent = 0
    for batch in _batches(csv_file, input_name, version_id):
        try:
            answer = iot_events.batch_put_message(messages=batch)
        except ClientError as e:
            raise _refused(input_name, str(e.response.get("Error", {}).get("Code")), str(e)) from e
        except BotoCoreError as e:
            raise IotEventsDeliveryFailed(
                f"IoT Events input {input_name!r} was not reached ({one_line(str(e), 300)}): "
                "check AWS_ENDPOINT_URL and the region"
            ) from e
        errors = answer.get("BatchPutMessageErrorEntries") or []
        if errors:
            first = errors[0]
            raise _refused(input_name, first.get("errorCode", ""), first.get("errorMessage", ""))
        sent += len(batch)
    return sent


def iot_events_data_client() -> Any:
    """A botocore client of the IoT Events data plane (the environment's settings)."""
    import botocore.session

    from iota_container.storage.s3 import client_config

    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    if str(SERVICE_MODELS) not in loader.search_paths:
        loader.search_paths.append(str(SERVICE_MODELS))
    return session.create_client("iotevents-data", config=client_config())


def _refused(input_name: str, code: str, message: str) -> IotEventsDeliveryFailed:
    if code == "ResourceNotFoundException":
        return IotEventsDeliveryFailed(
            f"IoT Events input {input_name!r} does not exist: create it (aws iotevents "
            "create-input) or fix iotEventsDestinationConfiguration.inputName"
        )
    return IotEventsDeliveryFailed(
        f"IoT Events refused the messages for input {input_name!r} ({code}: "
        f"{one_line(message, 300)}): check the input and the credentials"
    )


def _batches(csv_file: Path, input_name: str, version_id: str) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with csv_file.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            payload = json.dumps({k: _value(v) for k, v in row.items()}).encode("utf-8")
            message = {"messageId": f"{version_id}-{number}", "inputName": input_name}
            batch.append(message | {"payload": payload})
            if len(batch) == BATCH_SIZE:
                yield batch
                batch = []
    if batch:
        yield batch


def _value(text: str | None) -> Any:
    if text is None or text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
