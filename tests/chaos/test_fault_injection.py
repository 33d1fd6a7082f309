"""Fault injection over the whole local stack: hundreds of interactions from over a hundred webhooks
while everything that can go wrong does, then a drain, one replay, and the count.

What goes wrong, on a timeline, while four stores send their webhooks:
- Go Shops answers 5xx storms, then 429 with Retry-After, then times out and resets connections;
  now and then it answers 400 (retrying cannot fix that);
- one tenant's Go Shops key is rotated: 401 until the new key is put in Secrets Manager;
- the platform delivers some webhooks twice;
- the deliver function is killed mid-batch, three times;
- the interactions queue is unreachable for the receive function for a few seconds.

The promise checked at the end: every interaction of every webhook answered 2xx is delivered, none
is lost, every 400 was in the DLQ with its reason, and an interaction reached Go Shops twice only
if the function was killed between Go Shops accepting it and the delivered record being written,
or Go Shops accepted it after the function's client had stopped waiting (its read timeout: on a
starved machine an ordinary answer can take that long). Which one is told apart by what the client
read of each answer Go Shops gave, not by timing, so a slow machine is no reason to fail.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout, suppress
from dataclasses import dataclass

import pytest
from botocore.exceptions import EndpointConnectionError
from storefront import Platform, Storefront

from adapterctl.cli import main
from adapterctl.local import target_of
from adapterctl.local_stack import LocalStack
from adapterctl.targets import STATE_FILE_VARIABLE, write_local_state
from goshops_adapter.aws import client as aws_client
from goshops_adapter.goshops import GoShopsClient
from log_scan import captured_output, find_leaks

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INTERACTIONS = 400
TENANTS = {
    name: {"goshops": {"project": f"{name}-project", "api_key": f"{name}-goshops-key-1"}, "shopify": {"webhook_secret": f"{name}-shopify-secret"}}
    for name in ("north", "south", "east", "west")
}
ROTATED_TENANT, ROTATED_KEY = "east", "east-goshops-key-2"
INJECTED_400 = "data.item is required (injected)"
# Seconds: a killed batch comes back after the queue's visibility timeout; an attempt the killed
# function left "in progress" expires after its timeout.
VISIBILITY_TIMEOUT, DELIVER_TIMEOUT = 3, 8
GIVEN_NOTHING = "client gave up while the request waited"  # the sandbox's reason


class DeliverKilled(BaseException):
    """The deliver function's process dies: nothing after this point runs, nothing catches it."""


def key_of(entry: dict) -> tuple[str, str, str]:
    """(project, event, item): one expected interaction (the storefront never reuses an item)."""
    return entry["project"], entry["data"]["event"], entry["data"]["item"]


@dataclass
class Arm:
    label: str
    after: int  # accepted posts of one invocation (or all of a smaller batch's) before it dies
    fired: dict | None = None  # the invocation it killed: {"invocation", "batch", "accepted"}


class Killer:
    """Kills a deliver invocation after its n-th post Go Shops accepted, and every post of that
    invocation still under way; remembers what Go Shops accepted from a killed invocation (the
    crash window: accepted, never recorded as delivered).

    Kills fire in the order they were armed, each in the first invocation after the one before
    that gets `after` posts accepted, or all of its posts if its batch is smaller: how big the
    batches are depends on how fast delivery runs next to receiving (the machine's speed), and
    every interaction is posted and accepted at last, so every kill happens.

    It also keeps what the deliver function learned of each post, by interaction: which answers
    its client read, and how often the client stopped waiting (its read timeout). An answer Go
    Shops gave that the client never read is the other way the adapter can post an interaction
    twice: Go Shops had it, the adapter never heard.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.invocation = 0
        self.batch_size = 0
        self.killed: set[int] = set()
        self.arms: list[Arm] = []
        self.accepted_in_invocation = 0
        self.crash_window: Counter = Counter()  # interaction -> posts accepted for a killed invocation
        self.unheard: Counter = Counter()  # (interaction, status) answered after the function died
        self.read: Counter = Counter()  # (interaction, status): answers the client read, killed or not
        self.gave_up: Counter = Counter()  # interaction -> posts the client stopped waiting for

    def new_invocation(self, batch_size: int) -> None:
        with self.lock:
            self.invocation += 1
            self.batch_size = batch_size
            self.accepted_in_invocation = 0

    def arm(self, label: str, after_accepted_posts: int) -> None:
        with self.lock:
            self.arms.append(Arm(label, after_accepted_posts))

    def around(self, post):
        def post_or_die(client, api_key, project, data):
            with self.lock:
                invocation, batch_size = self.invocation, self.batch_size
                if invocation in self.killed:
                    raise DeliverKilled()
            result = post(client, api_key, project, data)
            key = (project, data["event"], data["item"])
            with self.lock:
                if result.status is not None:
                    self.read[key, result.status] += 1
                elif "timeout" in result.reason:
                    self.gave_up[key] += 1
                if result.status == 200 and invocation not in self.killed:
                    self.accepted_in_invocation += 1
                    arm = next((arm for arm in self.arms if arm.fired is None), None)
                    if arm and self.accepted_in_invocation >= min(arm.after, batch_size):
                        self.killed.add(invocation)
                        arm.fired = {"invocation": invocation, "batch": batch_size, "accepted": self.accepted_in_invocation}
                if invocation in self.killed:
                    self.unheard[key, result.status] += 1
                    if result.status == 200:
                        self.crash_window[key] += 1
                    raise DeliverKilled()
            return result

        return post_or_die


class ChaosStack(LocalStack):
    def __init__(self, killer: Killer, **kwargs):
        super().__init__(TENANTS, queue_overrides={"InteractionsQueue": {"VisibilityTimeout": VISIBILITY_TIMEOUT}}, **kwargs)
        self.killer = killer
        self.killed_invocations = 0
        # Killed on the attempt the redrive policy allows last: the queue moves them to the DLQ on
        # the next receive, before any function sees them, so with no reason attached.
        self.killed_on_last_attempt = 0

    def invoke_deliver(self, event: dict) -> dict:
        self.killer.new_invocation(len(event["Records"]))
        try:
            return super().invoke_deliver(event)
        except DeliverKilled:
            self.killed_invocations += 1
            counts = [int(record["attributes"]["ApproximateReceiveCount"]) for record in event["Records"]]
            self.killed_on_last_attempt += sum(count >= self.resources.max_receive_count for count in counts)
            raise RuntimeError("the deliver function was killed mid-batch") from None


class QueueOutage:
    """SendMessageBatch (only the receive function sends batches) cannot reach SQS while on."""

    def __init__(self):
        self.on = False
        self.refused = 0

    def __call__(self, request, **_kwargs):
        if self.on:
            self.refused += 1
            raise EndpointConnectionError(endpoint_url=request.url)


# Each fault the timeline sets, by name: the run checks every one of them was applied.
GO_SHOPS_FAULTS = ("400", "503 storm", "500 storm", "429 storm", "timeouts", "resets", "502 storm", "late resets")
KILLS = (("after 3 accepted", 3), ("after 1 accepted", 1), ("after 5 accepted", 5))


class Stopped(Exception):  # noqa: N818 - the test is ending: the timeline stops where it is
    pass


def timeline(stack: ChaosStack, outage: QueueOutage, progress, stop: threading.Event) -> None:
    """Each fault starts when that share of the webhooks has been accepted (so the run is the same on
    a fast machine and a slow one), and ends only once it has happened: Go Shops' faults apply to
    the next request they get, then to their share of them, until each has been applied; the queue
    outage and the key rotation last a few seconds, and until they have refused something. So every
    fault happens however fast the webhooks come next to how fast Go Shops is called."""
    sandbox = stack.sandbox.state
    bad_request = {"name": "400", "status": 400, "message": INJECTED_400, "probability": 0.04, "count": 25}
    kills = iter(KILLS)
    setting: list[str] = []  # the names of the Go Shops faults now set
    lasting: list[threading.Thread] = []  # the outage and the rotation, until they end

    def wait_until(condition) -> None:
        while not condition():
            if stop.wait(0.05):
                raise Stopped()

    def applied(names: list[str]) -> bool:
        with sandbox.lock:
            return all(sandbox.applied[name] for name in names)

    def refused_401() -> int:
        with sandbox.lock:
            return sum(refusal["status"] == 401 for refusal in sandbox.refused)

    def go_shops(*faults: dict) -> None:
        wait_until(lambda: applied(setting))
        setting[:] = [fault["name"] for fault in faults]
        first = [{key: value for key, value in fault.items() if key != "probability"} | {"count": 1} for fault in faults]
        with sandbox.lock:
            sandbox.faults = [bad_request, *first, *faults]

    def kill() -> None:
        stack.killer.arm(*next(kills))

    def rotate_in_secrets_manager(refused_before: int) -> None:
        time.sleep(5.0)
        try:
            wait_until(lambda: refused_401() > refused_before)
        except Stopped:
            return
        secret = json.loads(json.dumps(TENANTS[ROTATED_TENANT]))
        secret["goshops"]["api_key"] = ROTATED_KEY
        stack.client("secretsmanager").put_secret_value(SecretId=f"{stack.resources.tenant_secret_prefix}{ROTATED_TENANT}", SecretString=json.dumps(secret))

    def rotate_at_go_shops() -> None:
        refused_before = refused_401()
        with sandbox.lock:
            sandbox.keys[TENANTS[ROTATED_TENANT]["goshops"]["project"]] = ROTATED_KEY
        lasting.append(threading.Thread(target=rotate_in_secrets_manager, args=(refused_before,), daemon=True))
        lasting[-1].start()

    def end_outage() -> None:
        time.sleep(3.0)
        with suppress(Stopped):
            wait_until(lambda: outage.refused)
        outage.on = False

    def queue_outage() -> None:
        outage.on = True
        lasting.append(threading.Thread(target=end_outage, daemon=True))
        lasting[-1].start()

    steps = [
        (0.00, lambda: go_shops({"name": "503 storm", "status": 503, "probability": 0.5}, {"name": "500 storm", "status": 500, "probability": 0.2})),
        (0.10, kill),
        (0.15, queue_outage),
        (0.25, rotate_at_go_shops),
        (0.30, lambda: go_shops({"name": "429 storm", "status": 429, "retry_after": 2, "probability": 0.5})),
        (0.45, kill),
        # Longer than the client waits (GOSHOPS_READ_TIMEOUT), by more than a busy machine lags.
        (0.55, lambda: go_shops({"name": "timeouts", "delay": 3.0, "probability": 0.15}, {"name": "resets", "reset": True, "probability": 0.25})),
        (0.70, kill),
        (0.75, lambda: go_shops({"name": "502 storm", "status": 502, "probability": 0.3}, {"name": "late resets", "reset": True, "probability": 0.1})),
    ]
    try:
        for share, step in steps:
            wait_until(lambda share=share: progress() >= share)
            step()
        wait_until(lambda: applied(setting) and not any(thread.is_alive() for thread in lasting))
    except Stopped:
        return


def dlq_entries(stack: LocalStack) -> list[dict]:
    entries = []
    for message in stack.peek_failed():
        attributes = {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}
        body = json.loads(message["Body"])
        entries.append({"key": (body["project"], body["data"]["event"], body["data"]["item"]), "reason": attributes.get("reason", "no reason: moved by the redrive policy"), "status": attributes.get("status")})
    return entries


def answers(stack: LocalStack) -> Counter:
    counted = Counter({"200": len(stack.sandbox.received())})
    for refusal in stack.sandbox.refused():
        counted[str(refusal["status"]) if refusal["status"] else refusal["reason"]] += 1
    return counted


def drain(stack: LocalStack, *, stalled_after: float = 60.0) -> bool:
    """True once the interactions queue holds nothing; False once it stalls: neither shrinking nor
    handed to the deliver function for `stalled_after` seconds. Not a deadline: a slow machine
    drains slowly, but keeps at it (a message waits at most a few seconds between attempts)."""
    url = stack.resources.interactions_queue_url
    depth, invocations, moved = stack.queue_depth(url), stack.deliver_invocations, time.monotonic()
    while depth:
        time.sleep(0.2)
        now_depth, now_invocations = stack.queue_depth(url), stack.deliver_invocations
        if now_depth < depth or now_invocations > invocations:
            moved = time.monotonic()
        elif time.monotonic() - moved > stalled_after:
            return False
        depth, invocations = now_depth, now_invocations
    return True


# More than the suite's default: a loaded machine is what this run must survive, and `drain`
# fails a run that stalls.
@pytest.mark.timeout(600)
def test_nothing_accepted_is_lost_and_nothing_is_delivered_twice_outside_a_crash(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GOSHOPS_READ_TIMEOUT", "1.0")
    monkeypatch.setenv("GOSHOPS_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv(STATE_FILE_VARIABLE, str(tmp_path / "local-stack.json"))
    killer = Killer()
    monkeypatch.setattr(GoShopsClient, "post_feedback", killer.around(GoShopsClient.post_feedback))
    storefront = Storefront(TENANTS)
    webhooks = storefront.build(INTERACTIONS)
    started = time.monotonic()

    with captured_output() as captured, ChaosStack(killer) as stack:
        stack.resources.deliver_timeout = DELIVER_TIMEOUT
        write_local_state(target_of(stack))
        outage = QueueOutage()
        aws_client("sqs").meta.events.register("before-send.sqs.SendMessageBatch", outage)
        stop = threading.Event()

        platform = Platform(stack.url, TENANTS)
        faults = threading.Thread(target=timeline, args=(stack, outage, lambda: len(platform.sent.accepted) / len(webhooks), stop), daemon=True)
        faults.start()
        sent_twice = platform.deliver_all(webhooks, twice=0.1)
        sending = time.monotonic() - started
        faults.join(timeout=120)  # the last faults wait for a request or two
        timeline_ended = not faults.is_alive()
        stop.set()
        faults.join(timeout=10)
        with stack.sandbox.state.lock:
            stack.sandbox.state.faults = []  # Go Shops recovers
        assert drain(stack), "the interactions queue stopped draining"
        in_dlq = dlq_entries(stack)

        replay_out, replay_err = io.StringIO(), io.StringIO()
        with redirect_stdout(replay_out), redirect_stderr(replay_err):
            replay_code = main(["dlq", "replay"])
        assert drain(stack), "the replayed interactions stopped draining"
        answered = answers(stack)
        accepted_posts, refusals = stack.sandbox.received(), stack.sandbox.refused()
        applied = Counter(stack.sandbox.state.applied)
        left_in_dlq = dlq_entries(stack)
        invocations, killed, killed_last = stack.deliver_invocations, stack.killed_invocations, stack.killed_on_last_attempt

    elapsed = time.monotonic() - started
    accepted = {key for webhook in platform.sent.accepted for key in webhook.expected}
    received = Counter(key_of(entry) for entry in accepted_posts)
    lost = accepted - set(received)
    extra = set(received) - accepted

    # Every answer Go Shops gave, against the answers the deliver function's client read: one it
    # never read is one the client had stopped waiting for (its read timeout), and for a 200 Go
    # Shops has the interaction while the adapter does not know: it posts it again.
    given = Counter({(key, 200): count for key, count in received.items()})
    given.update((key_of(refusal), refusal["status"]) for refusal in refusals if refusal["status"] and isinstance(refusal.get("data"), dict))
    read_never_given = killer.read - given
    never_read, never_read_200, never_read_400 = Counter(), Counter(), Counter()
    for (key, status), count in (given - killer.read).items():
        never_read[key] += count
        if status in (200, 400):
            (never_read_200 if status == 200 else never_read_400)[key] += count
    # A client that gave up while Go Shops held its request back (a delay fault) was given nothing.
    given_nothing = Counter(key_of(refusal) for refusal in refusals if refusal["status"] is None and refusal["reason"] == GIVEN_NOTHING)
    gave_up_on_an_answer = {key: count - given_nothing[key] for key, count in killer.gave_up.items()}
    not_given_up = {key: (count, killer.gave_up[key], given_nothing[key]) for key, count in never_read.items() if count > gave_up_on_an_answer.get(key, 0)}
    # The sandbox's side of it: a client already gone when its 200 was written never read it.
    left_before_the_answer = Counter(key_of(entry) for entry in accepted_posts if entry["client_left"]) - never_read_200

    duplicates = {key: count for key, count in received.items() if count > 1}
    in_crash_window = {key: min(count - 1, killer.crash_window[key]) for key, count in duplicates.items()}
    client_gave_up = {key: min(count - 1 - in_crash_window[key], never_read_200[key], gave_up_on_an_answer.get(key, 0)) for key, count in duplicates.items()}
    unexplained = {key: count for key, count in duplicates.items() if count - 1 > in_crash_window[key] + client_gave_up[key]}
    slowest = max((entry["answered_at"] - entry["arrived_at"] for entry in accepted_posts if entry["answered_at"]), default=0.0)

    bad_requests = [r for r in refusals if r["status"] == 400]
    dlq_reasons = Counter(re.sub(r"\d+ attempts", "N attempts", entry["reason"]) for entry in in_dlq)
    replayed = re.search(r"Replay: (\d+) moved, (\d+) skipped \(did not match\), (\d+) failed", replay_out.getvalue())
    leaks = find_leaks(
        captured.lines + replay_out.getvalue().splitlines(),
        secrets=[TENANTS[t]["goshops"]["api_key"] for t in TENANTS] + [TENANTS[t]["shopify"]["webhook_secret"] for t in TENANTS] + [ROTATED_KEY],
        personal=storefront.personal_data,
    )
    missing_faults = [name for name in GO_SHOPS_FAULTS if not applied[name]]

    with capsys.disabled():
        print(
            "\n".join(
                [
                    "",
                    f"Fault injection over the local stack ({elapsed:.0f} s, {sending:.0f} s of it sending webhooks):",
                    f"  webhooks                 {len(webhooks)} from {len(TENANTS)} stores, {sent_twice} of them delivered twice by the platform",
                    f"  webhook answers          {dict(platform.sent.attempts)} (5xx while the queue was unreachable: {outage.refused} refused sends)",
                    f"  interactions accepted    {len(accepted)}",
                    f"  Go Shops faults applied  {dict(applied)}",
                    f"  Go Shops answered        {dict(answered)}",
                    f"  answers never read       {sum(never_read.values())} (200: {sum(never_read_200.values())}, 400: {sum(never_read_400.values())}); "
                    f"client timeouts: {sum(killer.gave_up.values())}; slowest 200: {slowest:.2f} s",
                    f"  deliver invocations      {invocations}, killed mid-batch: {killed} (holding {killed_last} interaction(s) on their last allowed attempt)",
                    "  kills                    " + "; ".join(f"{arm.label}: " + (f"{arm.fired['accepted']} of a batch of {arm.fired['batch']}" if arm.fired else "never") for arm in killer.arms),
                    f"  in the DLQ after drain   {len(in_dlq)}: " + "; ".join(f"{count} x {reason}" for reason, count in dlq_reasons.most_common()),
                    f"  replayed (one run)       moved {replayed.group(1) if replayed else '?'}, skipped {replayed.group(2) if replayed else '?'}, failed {replayed.group(3) if replayed else '?'}",
                    f"  delivered                {len(set(received) & accepted)} of {len(accepted)}",
                    f"  lost                     {len(lost)}",
                    f"  duplicates               {sum(count - 1 for count in duplicates.values())} "
                    f"(in the crash window: {sum(in_crash_window.values())}, client gave up: {sum(client_gave_up.values())}, unexplained: {sum(count - 1 for count in unexplained.values())})",
                    f"  log lines scanned        {len(captured.lines)}, secrets or personal data found: {len(leaks)}",
                ]
            )
        )

    # Every fault of the timeline happened.
    assert timeline_ended, "the timeline did not get to its end"
    assert missing_faults == [], f"faults never applied: {missing_faults}"
    assert outage.refused, "the queue outage refused no send"
    assert answered["401"], "the key rotation refused no post"
    assert sent_twice, "the platform delivered no webhook twice"
    assert [(arm.label, arm.fired is not None) for arm in killer.arms] == [(label, True) for label, _ in KILLS]
    assert killed == len(KILLS)
    assert sum(killer.gave_up.values()), "the deliver function's client never timed out"

    assert platform.sent.given_up == [], "every webhook is accepted once the outage ends"
    assert len(accepted) >= INTERACTIONS
    assert lost == set()
    assert extra == set()
    # Go Shops' answers and what the client read agree: the client read no answer Go Shops did not
    # give, and every answer it did not read was one it gave up waiting for.
    assert read_never_given == Counter()
    assert not_given_up == {}, "answers neither read nor given up on: (never read, client timeouts, timeouts given nothing) by interaction"
    assert left_before_the_answer == Counter()
    # Twice only where the function died after Go Shops accepted it, or its client had given up.
    assert unexplained == {}
    assert bad_requests, "the run injected no 400"
    assert len(bad_requests) - sum(count for (_, status), count in killer.unheard.items() if status == 400) - sum(never_read_400.values()) <= len(in_dlq)
    assert sum(entry["status"] is None for entry in in_dlq) == killed_last  # the only way in without a reason
    # Keyed by (project, event, item), which two orders of one product share: a key can be in the
    # DLQ twice, once for its 400 and once for another order that ran out of attempts in a 429 storm.
    dead_lettered: dict[tuple, list[dict]] = {}
    for entry in in_dlq:
        dead_lettered.setdefault(entry["key"], []).append(entry)
    for refusal in bad_requests:
        key = key_of(refusal)
        refused_400 = [entry for entry in dead_lettered.get(key, []) if (entry["status"], entry["reason"]) == ("400", f"Go Shops answered 400: {INJECTED_400}")]
        # Otherwise the 400 reached a function already killed, or a client that had given up: the
        # interaction came back and was retried.
        assert refused_400 or killer.unheard[key, 400] or never_read_400[key], key
    assert replay_code == 0 and replayed and int(replayed.group(1)) == len(in_dlq)
    assert left_in_dlq == []
    assert leaks == []
