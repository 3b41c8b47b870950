"""Breaker state in Redis, shared by every process that names the same ``shared_state`` URL.

Each circuit is one hash, ``orfb:breaker:<endpoint>:<upstream>`` (the identity in-process
state uses, :func:`~langchain_openrouter_fallback._decisions.health.circuit_key`), with fields ``f``
(consecutive failures), ``u`` (open until, ms on the Redis clock; absent or 0 when closed),
``p`` (``1`` while a half-open probe is out) and ``ws``/``wc``/``wf`` (failure-rate window
start, calls, failures). Every operation is one ``EVALSHA`` of :data:`BREAKER_LUA`, so
concurrent processes never race, and all times come from the Redis server's ``TIME`` (no clock
skew between machines). Keys expire on their own once idle.

What each upstream's successful attempts took (``auto`` limits) is one more hash per upstream,
``orfb:latency:<endpoint>:<upstream>``: field ``<m>:<bucket>`` counts observations of metric
``<m>`` (``f`` first token, ``s`` stall, ``t`` total) in a log-scale bucket, field ``<m>`` their
sum; :data:`LATENCY_LUA` adds one attempt atomically and halves a metric's counts when they pass
``MAX_WEIGHT``, as the in-process histogram does (``_learned``).

``redis`` is an optional extra, imported when the first backend is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from langchain_openrouter_fallback._decisions.health import (
    BackendUnavailableError,
    BreakerState,
    Circuit,
    Key,
)
from langchain_openrouter_fallback._decisions.learned import MAX_WEIGHT, Histogram, bucket_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from langchain_openrouter_fallback._decisions.learned import Metric
    from langchain_openrouter_fallback._definition.chain import BreakerPolicy

__all__ = [
    "BREAKER_LUA",
    "DEFAULT_PREFIX",
    "DEFAULT_SOCKET_TIMEOUT",
    "LATENCY_LUA",
    "LATENCY_PREFIX",
    "RedisBackend",
]

DEFAULT_PREFIX = "orfb:breaker"
DEFAULT_SOCKET_TIMEOUT = 0.1
"""Seconds for connect and each reply: a dead Redis must not stall a request."""
_STATES: tuple[BreakerState, ...] = ("closed", "open", "half_open")

BREAKER_LUA = """
local key, op = KEYS[1], ARGV[1]
local threshold, cooldown = tonumber(ARGV[2]), tonumber(ARGV[3])
local rate, window, min_calls = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local retry_after, ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = redis.call('HMGET', key, 'f', 'u', 'p', 'ws', 'wc', 'wf')
local failures, open_until = tonumber(c[1]) or 0, tonumber(c[2]) or 0
local probing = c[3] == '1'
local ws, wc, wf = tonumber(c[4]) or now, tonumber(c[5]) or 0, tonumber(c[6]) or 0

local function state()
  if open_until == 0 then return 0 end
  if now < open_until then return 1 end
  return 2
end

if op == 'state' then
  local left = 0
  if open_until > now then left = open_until - now end
  return {state(), failures, left}
elseif op == 'allow' then
  if open_until == 0 then return 1 end
  if now < open_until then return 0 end
  if probing and now < open_until + cooldown then return 0 end
  redis.call('HSET', key, 'p', '1', 'u', now)
  redis.call('PEXPIRE', key, ttl)
  return 1
elseif op == 'success' then
  if rate == 0 or open_until ~= 0 then
    redis.call('DEL', key)
    return 0
  end
  if now - ws >= window then ws, wc, wf = now, 0, 0 end
  redis.call('HSET', key, 'f', 0, 'ws', ws, 'wc', wc + 1, 'wf', wf)
  redis.call('PEXPIRE', key, ttl)
  return 0
elseif op == 'failure' then
  failures = failures + 1
  if now - ws >= window then ws, wc, wf = now, 0, 0 end
  wc, wf = wc + 1, wf + 1
  local trips = probing or failures >= threshold
  if rate > 0 and wc >= min_calls and wf >= rate * wc then trips = true end
  if trips then
    open_until = now + math.max(cooldown, retry_after)
    redis.call('HSET', key, 'f', failures, 'u', open_until, 'p', '0', 'ws', now, 'wc', 0, 'wf', 0)
  else
    redis.call('HSET', key, 'f', failures, 'ws', ws, 'wc', wc, 'wf', wf)
  end
  redis.call('PEXPIRE', key, ttl)
  return state()
end
return redis.error_reply('unknown breaker op ' .. tostring(op))
"""


LATENCY_PREFIX = "orfb:latency"
LATENCY_TTL_MS = 7 * 86_400_000
"""An upstream's latency summary is dropped after a week without an observation."""
_SHORT: dict[Metric, str] = {"first_token": "f", "stall": "s", "total": "t"}
_LONG: dict[str, Metric] = {short: metric for metric, short in _SHORT.items()}

LATENCY_LUA = """
local key, max_weight, ttl = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local m = ARGV[i]
  redis.call('HINCRBY', key, m .. ':' .. ARGV[i + 1], 1)
  if redis.call('HINCRBY', key, m, 1) > max_weight then
    local all, total, prefix = redis.call('HGETALL', key), 0, m .. ':'
    for j = 1, #all, 2 do
      if string.sub(all[j], 1, #prefix) == prefix then
        local c = math.floor(tonumber(all[j + 1]) / 2)
        if c == 0 then redis.call('HDEL', key, all[j]) else redis.call('HSET', key, all[j], c) end
        total = total + c
      end
    end
    redis.call('HSET', key, m, total)
  end
end
redis.call('PEXPIRE', key, ttl)
return 1
"""


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class RedisBackend:
    """A :class:`~langchain_openrouter_fallback._decisions.health.HealthBackend` in Redis."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    ) -> None:
        """Connect lazily to ``url`` (``redis://``, ``rediss://`` or ``unix://``).

        Raises:
            ImportError: the ``redis`` package is not installed.
        """
        import redis  # noqa: PLC0415 - optional extra
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415

        parts = urlsplit(url)
        self.where = f"{parts.hostname or parts.path}:{parts.port or ''}"
        """Host and port only: the URL may carry a password."""
        self.prefix = prefix
        # No client-side retries: one owner of retries, and a dead Redis costs one timeout.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._script = self._client.register_script(BREAKER_LUA)
        self._latency_script = self._client.register_script(LATENCY_LUA)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    def __repr__(self) -> str:
        return f"RedisBackend(where={self.where!r}, prefix={self.prefix!r})"

    def _unavailable(self, exc: BaseException) -> BackendUnavailableError:
        return BackendUnavailableError(f"redis at {self.where}: {type(exc).__name__}: {exc}")

    def _name(self, key: Key) -> str:
        return f"{self.prefix}:{key[0]}:{key[1]}"

    def _run(self, op: str, key: Key, policy: BreakerPolicy | None, retry_after: float = 0) -> Any:
        args: list[str | int | float] = [op, 0, 0, 0, 0, 0, 0, 0]
        if policy is not None:
            longest = max(policy.window, policy.cooldown, retry_after)
            args = [
                op, policy.failures, _ms(policy.cooldown), policy.rate or 0, _ms(policy.window),
                policy.min_calls, _ms(retry_after), _ms(2 * longest + 60),
            ]  # fmt: skip
        try:
            return self._script(keys=[self._name(key)], args=args)
        except self._errors as exc:
            raise self._unavailable(exc) from exc

    def allow(self, key: Key, policy: BreakerPolicy) -> bool:
        """Closed: yes. Open: no. Half-open: yes for one probe per cooldown (atomically)."""
        return bool(self._run("allow", key, policy))

    def record_success(self, key: Key, policy: BreakerPolicy) -> None:
        """Close the circuit; with a ``rate`` policy, count the call in the window."""
        self._run("success", key, policy)

    def record_failure(self, key: Key, policy: BreakerPolicy, retry_after: float) -> BreakerState:
        """Count the failure; open (again) when a limit is reached or the probe failed."""
        return _STATES[int(self._run("failure", key, policy, retry_after))]

    def circuit(self, key: Key) -> Circuit:
        """A snapshot of the circuit."""
        state, failures, left = self._run("state", key, None)
        return Circuit(_STATES[int(state)], int(failures), int(left) / 1000)

    def observe(self, key: Key, observations: Mapping[Metric, float]) -> None:
        """Add one successful attempt's observations to the upstream's shared summary."""
        args: list[str | int] = [MAX_WEIGHT, LATENCY_TTL_MS]
        for metric, seconds in observations.items():
            args += [_SHORT[metric], bucket_of(seconds)]
        try:
            self._latency_script(keys=[self._latency_name(key)], args=args)
        except self._errors as exc:
            raise self._unavailable(exc) from exc

    def latency(self, key: Key) -> dict[Metric, Histogram]:
        """The upstream's shared summary, by metric."""
        try:
            raw: dict[Any, Any] = self._client.hgetall(self._latency_name(key))
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        counts: dict[Metric, dict[int, int]] = {}
        for name, count in raw.items():
            short, _, bucket = (name.decode() if isinstance(name, bytes) else name).partition(":")
            if bucket and short in _LONG:
                counts.setdefault(_LONG[short], {})[int(bucket)] = int(count)
        return {metric: Histogram(buckets) for metric, buckets in counts.items()}

    def _latency_name(self, key: Key) -> str:
        return f"{LATENCY_PREFIX}:{key[0]}:{key[1]}"

    def reset(self) -> None:
        """Delete every circuit under this prefix, and every latency summary."""
        try:
            for pattern in (f"{self.prefix}:*", f"{LATENCY_PREFIX}:*"):
                keys = list(self._client.scan_iter(match=pattern, count=500))
                if keys:
                    self._client.delete(*keys)
        except self._errors as exc:
            raise self._unavailable(exc) from exc

    def forget(self, keys: Iterable[Key]) -> None:
        """Delete these circuits (their latency summaries stay)."""
        names = [self._name(key) for key in keys]
        if not names:
            return
        try:
            self._client.delete(*names)
        except self._errors as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
