"""Where the operator commands act: a deployed stack (found by name from its outputs) or the local stack.

`make local` writes `.local-stack.json` with the emulator's endpoint and resource names, so commands
run from another terminal find it the same way they find a deployed stack.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import boto3
import urllib3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

LOCAL_STATE_FILE = Path(__file__).resolve().parents[2] / ".local-stack.json"
# Where a local stack other than `make local`'s says where it is (tests use their own).
STATE_FILE_VARIABLE = "ADAPTERCTL_LOCAL_STATE"


class TargetError(RuntimeError):
    """The stack cannot be found or used; the message says what to do."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


# AWS errors an operator fixes (credentials, permissions, a queue or secret that is not there):
# exit 2. Anything else (throttling, a 5xx, the network) may pass: exit 1, run it again.
OPERATOR_FIXES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "ResourceNotFoundException",
    }
)


def aws_exit_code(exc: Exception) -> int:
    """2 when the operator has something to fix, 1 when running the command again may succeed."""
    if isinstance(exc, ClientError):
        return 2 if exc.response.get("Error", {}).get("Code") in OPERATOR_FIXES else 1
    return 2 if isinstance(exc, NoCredentialsError | NoRegionError) else 1


@dataclass(frozen=True)
class Target:
    name: str
    interactions_queue_url: str
    failed_queue_url: str
    table_name: str
    tenant_secret_prefix: str
    webhook_base_url: str  # ends with /webhooks/
    endpoint_url: str | None = None  # the emulator, for the local stack
    region: str | None = None

    def client(self, service: str):
        if self.endpoint_url:
            return boto3.session.Session().client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region or "us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - the emulator accepts any
            )
        return boto3.session.Session(region_name=self.region).client(service)

    def webhook_url(self, platform: str, tenant: str) -> str:
        return f"{self.webhook_base_url}{platform}/{tenant}"

    def secret_id(self, tenant: str) -> str:
        return f"{self.tenant_secret_prefix}{tenant}"


def local_state_file() -> Path:
    return Path(os.environ.get(STATE_FILE_VARIABLE) or LOCAL_STATE_FILE)


def write_local_state(target: Target, path: Path | None = None) -> None:
    (path or local_state_file()).write_text(json.dumps(asdict(target), indent=2) + "\n", encoding="utf-8")


def clear_local_state(target: Target, path: Path | None = None) -> None:
    """Remove the state file, if it still describes `target` (another stack may have written it)."""
    path = path or local_state_file()
    try:
        if local_target(path) == target:
            path.unlink(missing_ok=True)
    except TargetError:
        pass


def running_local_endpoint(path: Path | None = None) -> str | None:
    """The emulator endpoint of a local stack that is still answering, as the state file names it."""
    try:
        endpoint = local_target(path).endpoint_url
    except TargetError:
        return None
    if not endpoint:
        return None
    try:
        # The emulator's own API: another program now on that port is not a running stack.
        answer = urllib3.request("GET", f"{endpoint}/moto-api/data.json", timeout=urllib3.Timeout(total=1.0), retries=False)
        running = answer.status == 200 and isinstance(json.loads(answer.data), dict)
    except (urllib3.exceptions.HTTPError, ValueError):
        return None
    return endpoint if running else None


def local_target(path: Path | None = None) -> Target:
    path = path or local_state_file()
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError("no local stack is running: start one with `make local` in another terminal") from None
    except OSError as exc:
        raise TargetError(f"cannot read the local stack's state file {path}: {exc.strerror}") from None
    except ValueError:
        state = None
    try:
        return Target(**state)
    except TypeError:
        raise TargetError(f"{path} is damaged: stop `make local`, delete the file and start it again") from None


def stack_target(stack_name: str, region: str | None = None) -> Target:
    try:
        cloudformation = boto3.session.Session(region_name=region).client("cloudformation")
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (NoCredentialsError, NoRegionError) as exc:
        raise TargetError(f"AWS is not configured: {exc} (set AWS_PROFILE / AWS_REGION, or pass --region)") from None
    except ClientError as exc:
        raise TargetError(f"stack {stack_name!r}: {exc.response['Error'].get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise TargetError(f"cannot reach CloudFormation: {exc}") from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    required = ("InteractionsQueueUrl", "FailedInteractionsQueueUrl", "FirstSeenTableName", "TenantSecretPrefix", "WebhookBaseUrl")
    missing = [key for key in required if key not in outputs]
    if missing:
        raise TargetError(f"stack {stack_name!r} has no output {', '.join(missing)}: is it this adapter's stack, fully deployed?")
    return Target(
        name=stack_name,
        interactions_queue_url=outputs["InteractionsQueueUrl"],
        failed_queue_url=outputs["FailedInteractionsQueueUrl"],
        table_name=outputs["FirstSeenTableName"],
        tenant_secret_prefix=outputs["TenantSecretPrefix"],
        webhook_base_url=outputs["WebhookBaseUrl"],
        region=region or cloudformation.meta.region_name,
    )


def add_target_arguments(parser) -> None:
    """`--stack NAME [--region R]` for a deployed stack, or `--local` (the default)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stack", metavar="NAME", help="the deployed stack's name (its outputs say where everything is)")
    group.add_argument("--local", action="store_true", help="the stack `make local` is running (default when --stack is not given)")
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS configuration's)")


def resolve_target(args) -> Target:
    stack = getattr(args, "stack", None)
    if stack is not None:
        if not stack.strip():
            # Most likely an unset variable in a script: never fall back to another stack for it.
            raise TargetError("--stack needs the stack's name (it was empty)")
        return stack_target(stack.strip(), args.region)
    return local_target()
