"""In-memory stand-ins for the receiving side's AWS parts (tenant store, first-seen store, queue),
with the contracts of the real ones; for tests of `Receiver` that need no AWS."""

from botocore.exceptions import EndpointConnectionError

from goshops_adapter.tenants import UnknownTenant


class Tenants:
    def __init__(self, configs):
        self.configs = configs

    def get(self, name, refresh=False):
        if name not in self.configs:
            raise UnknownTenant(name)
        value = self.configs[name]
        if isinstance(value, Exception):
            raise value
        return value

    def refresh_after_rejection(self, name):
        return self.get(name)


class FirstSeen:
    """FirstSeenStore's contract: claimed items and delivery markers per key, one claim per call."""

    def __init__(self):
        self.sets: dict[str, set] = {}
        self.markers: dict[str, set] = {}
        self.fail = False

    def claim(self, key, marker, items):
        if self.fail:
            raise EndpointConnectionError(endpoint_url="http://dynamodb")
        claimed, markers = self.sets.setdefault(key, set()), self.markers.setdefault(key, set())
        to_queue = set(items) if marker in markers else set(items) - claimed
        claimed.update(items)
        markers.add(marker)
        return to_queue

    def release(self, key, items):
        self.sets[key].difference_update(items)


class Queue:
    def __init__(self):
        self.sent = []
        self.fail_items: set[str] = set()

    def send(self, messages):
        failed = [m for m in messages if m.interaction.item in self.fail_items]
        self.sent += [m for m in messages if m not in failed]
        return failed
