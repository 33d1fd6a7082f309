"""The suite's own guard (tests/conftest.py): no test can reach real AWS or the internet."""

import socket

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, NoCredentialsError


def test_a_name_outside_this_machine_is_not_even_looked_up():
    with pytest.raises(socket.gaierror, match="tests stay on this machine"):
        socket.getaddrinfo("sqs.us-east-1.amazonaws.com", 443)


def test_a_connection_outside_this_machine_is_refused():
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="tests stay on this machine"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: would hang rather than fail, unguarded


def test_an_sdk_client_left_pointing_at_aws_fails_at_once(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.session.Session(region_name="us-east-1").client("sqs", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises((EndpointConnectionError, NoCredentialsError)):
        client.list_queues()
    signed = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y").client("sqs", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(EndpointConnectionError):
        signed.list_queues()


def test_this_machine_stays_reachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
