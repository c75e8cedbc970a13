"""One exchange, from request to bytes: three sources of a response, one delivery path.

A response comes from a fault plan (``Status``, ``HtmlLogin``: synthesized), from an
app served in process, or from an upstream over a pooled connection. Each source
gives a :class:`Response` (a head, body blocks ready, the rest to come); one path
passes it through :class:`faults.ResponseEngine` and carries out the engine's
actions on the client's socket.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import faults
from ._bodies import RequestBody
from ._endings import Quit, end
from ._environ import werkzeug_request
from ._http import drop_header, status_code
from ._inprocess import Served, in_process, names_host
from ._limits import MAX_REQUEST_BODY, UPSTREAM_TIMEOUT
from ._pool import Pool, Pooled, Stream
from ._proxylog import Connection, Exchange
from ._readers import drained, read_head, response_body
from ._routes import Routes, Upstream
from ._writers import client_closes, closes, framed, framing_of, is_http10, measured, needs_length
from .errors import FaultPlanError
from .faults import Close, HtmlLogin, Send, Sleep, Status, synthesized_response
from .framing import Framing

__all__ = ["Answer", "Asked", "Delivery", "Response", "act", "check_protocol", "pump"]


@dataclass
class Response:
    """A response on its way: the head, body blocks already here, the rest as it comes."""

    head: bytes
    ready: list[bytes] = field(default_factory=list)
    rest: AsyncIterator[bytes] | None = None


@dataclass(slots=True)
class Asked:
    """One request as an exchange puts it to its source (see :meth:`Delivery.respond`).

    ``http2``: the client speaks HTTP/2, which has no chunked or close-delimited body
    (both are a body with no length there), and takes HTTP/2's own plans.
    """

    host: str
    upstream: Upstream
    head: bytes
    body: RequestBody
    method: str
    path: str
    exchange: Exchange
    http2: bool = False


class Answer:
    """What :meth:`Delivery.respond` gives: entered, the engine and the response; left,
    what the response held (a spooled body, an app's response, an upstream connection)
    released, in reverse order. A class rather than a generator over an exit stack: one is
    entered for every exchange, and that machinery cost more than the rest of the bookkeeping.
    """

    def __init__(self, delivery: Delivery, asked: Asked) -> None:
        self._delivery = delivery
        self.asked = asked
        self.releases: list[Callable[[], object]] = []
        self._pooled: Pooled | None = None

    async def borrow(self, pooled: Pooled) -> Stream:
        """An upstream connection from the pool, given back (or closed) on exit."""
        stream = await pooled.__aenter__()
        self._pooled = pooled
        return stream

    async def __aenter__(self) -> tuple[faults.ResponseEngine, Response]:
        try:
            return await self._delivery._answer(self)
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            while self.releases:
                self.releases.pop()()
        finally:
            if self._pooled is not None:
                pooled, self._pooled = self._pooled, None
                await pooled.__aexit__(exc_type, exc, tb)


@dataclass
class Delivery:
    """What an exchange needs of its proxy: routes, workers, the upstream pool, a deadline,
    the largest request body it reads."""

    routes: Routes
    workers: ThreadPoolExecutor
    pool: Pool
    client_timeout: float
    max_request_body: int = MAX_REQUEST_BODY

    async def exchange(
        self,
        host: str,
        upstream: Upstream,
        head: bytes,
        method: str,
        path: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
    ) -> None:
        """Read the request's body, answer it from its source, deliver the response."""
        exchange = Exchange(method, path, bytes_up=len(head))
        conn.exchanges.append(exchange)
        body = RequestBody(
            head, reader, writer, timeout=self.client_timeout, limit=self.max_request_body
        )
        asked = Asked(host, upstream, head, body, method, path, exchange)
        async with self.respond(asked) as answer:
            engine, response = answer
            await self.deliver(engine, response, writer, exchange, conn, client_closes(head))

    def respond(self, asked: Asked) -> Answer:
        """The response to a request from its source, with the engine of the plan it takes
        (``async with delivery.respond(asked) as (engine, response)``); its upstream
        connection or app is released at the end."""
        return Answer(self, asked)

    async def _answer(self, answer: Answer) -> tuple[faults.ResponseEngine, Response]:
        """What :class:`Answer` yields; what it borrows is registered on ``answer``."""
        asked = answer.asked
        host, upstream, head, body = asked.host, asked.upstream, asked.head, asked.body
        method, path, exchange, http2 = asked.method, asked.path, asked.exchange, asked.http2
        bare = path.split("?", 1)[0]
        plan = self.routes.faults.exchange_plan(host, bare)
        if plan is not None:
            exchange.fault = repr(plan)
            check_protocol(plan, host, http2)
        framing = self.routes.framing(host, bare, upstream)
        if framing == "chunked" and (http2 or is_http10(head)):
            framing = "close"  # HTTP/1.0 has no chunked: servers fall back to the close
        if isinstance(plan, (Status, HtmlLogin)):
            await body.drop()
            response = _synthesized(plan)
            plan = None  # the plan is the response: the engine passes it as it is
        elif upstream.app is not None:
            spool = await body.spooled()
            answer.releases.append(spool.close)
            request = werkzeug_request(host, head, spool, body.length)
            if upstream.inline and names_host(head, host):
                served = Served.call(upstream.app, request)  # on this thread: no trip
            else:
                served = await in_process(self.workers, upstream.app, request)
            answer.releases.append(served.close)
            rest = None if served.ended else served.rest(self.workers)
            response = Response(served.head, served.batch, rest)
        else:
            response = await self._from_upstream(answer, framing)
        exchange.bytes_up += body.received
        exchange.status = status_code(response.head)
        exchange.framing = framing_of(response.head, method, framing)
        engine = faults.ResponseEngine(plan, exchange.framing)
        if needs_length(engine.framing, response.head):
            response = Response(*await measured(response.head, response.ready, response.rest))
        return engine, response

    async def _from_upstream(self, answer: Answer, framing: Framing | None) -> Response:
        """Send the request over a pooled connection, its body as it arrives; its response,
        the body still to read."""
        asked = answer.asked
        head, body, method = asked.head, asked.body, asked.method
        pooled = Pooled(self.pool, asked.upstream)
        up_reader, up_writer = await answer.borrow(pooled)
        up_writer.write(drop_header(head, b"expect") if body.length else head)
        async for block in body.blocks():
            up_writer.write(block)
            await drained(up_writer, UPSTREAM_TIMEOUT)
        await drained(up_writer, UPSTREAM_TIMEOUT)
        reply = await read_head(up_reader, UPSTREAM_TIMEOUT)
        if reply is None:
            raise ConnectionError(f"upstream of {asked.host!r} closed without a response")
        payload = framing_of(reply, method, framing) is not None
        rest = response_body(reply, method, up_reader, payload=payload)
        if not body.length and not closes(reply):
            rest = _then_reusable(rest, pooled)
        if closes(reply) and (payload or framed(reply, method)):
            # Connection is hop-by-hop: the upstream may close, the client keeps its
            # connection (as the real services do), so only the pooled side is dropped.
            reply = drop_header(reply, b"connection")
        return Response(reply, [], rest)

    async def deliver(
        self,
        engine: faults.ResponseEngine,
        response: Response,
        writer: asyncio.StreamWriter,
        exchange: Exchange,
        conn: Connection,
        client_closes: bool = False,
    ) -> None:
        """Pass one response through the engine.

        The body blocks already ``ready`` go out with the head (in one write, when
        no fault comes between), then the ``rest`` as it arrives.
        """
        deadline = self.client_timeout
        run = functools.partial(act, writer=writer, exchange=exchange, conn=conn, deadline=deadline)
        await pump(engine, response, run)
        exchange.ended = "ok"
        if closes(engine.head) or client_closes:
            exchange.ended = conn.ended = "fin"
            writer.close()
            raise Quit


async def pump(
    engine: faults.ResponseEngine,
    response: Response,
    run: Callable[[list[Any]], Awaitable[None]],
) -> None:
    """Feed ``response`` through ``engine``, ``run`` carrying out its actions on the way."""
    actions = engine.start(response.head)
    for block in response.ready:
        actions += engine.feed(block)
    await run(actions)
    if response.rest is not None:
        async for chunk in response.rest:
            if engine.done:
                break
            await run(engine.feed(chunk))
    if actions := engine.finish():
        await run(actions)


def check_protocol(plan: faults.FaultPlan | None, host: str, http2: bool) -> None:
    """FaultPlanError for a plan the client's protocol gives no meaning to."""
    if http2 and isinstance(plan, faults.HTTP1_ONLY):
        raise FaultPlanError(
            f"{plan!r} rewrites HTTP/1.1 framing, but this client speaks HTTP/2 to {host} "
            f"(no chunked bodies there): use StreamReset or Truncate(where='body'), or make "
            f"{host} http1_only()"
        )
    if not http2 and isinstance(plan, faults.H2_FAULTS):
        raise FaultPlanError(
            f"{plan!r} is an HTTP/2 fault, but this client speaks HTTP/1.1 to {host} (it did "
            "not offer h2 by ALPN)"
        )


async def _then_reusable(body: AsyncIterator[bytes], pooled: Pooled) -> AsyncIterator[bytes]:
    """``body``; once read to its end, its connection may serve another request."""
    async for block in body:
        yield block
    pooled.reusable()


def _synthesized(plan: Status | HtmlLogin) -> Response:
    """The response a plan makes up, split into head and body."""
    whole = synthesized_response(plan)
    head, _, body = whole.partition(b"\r\n\r\n")
    return Response(head + b"\r\n\r\n", [body])


async def act(
    actions: list[Any],
    writer: asyncio.StreamWriter,
    exchange: Exchange,
    conn: Connection,
    deadline: float,
) -> None:
    """Carry out the engine's actions; Sends in a row go out as one write, each given
    ``deadline`` seconds to leave (a client that stops reading is closed then)."""
    unsent: list[bytes] = []
    for action in actions:
        if isinstance(action, Send):
            unsent.append(action.data)
            continue
        if unsent:
            await _send(writer, unsent, exchange, conn, deadline)
        if isinstance(action, Sleep):
            await asyncio.sleep(action.seconds)
        elif isinstance(action, Close):
            exchange.ended = conn.ended = action.how
            await end(writer, action.how)
            raise Quit
    if unsent:
        await _send(writer, unsent, exchange, conn, deadline)


async def _send(
    writer: asyncio.StreamWriter,
    unsent: list[bytes],
    exchange: Exchange,
    conn: Connection,
    deadline: float,
) -> None:
    """Write the blocks in ``unsent`` (one or more) as one, count them, and empty the list."""
    data = unsent[0] if len(unsent) == 1 else b"".join(unsent)
    unsent.clear()
    writer.write(data)
    exchange.bytes_down += len(data)
    try:
        await drained(writer, deadline)
    except TimeoutError:
        exchange.ended = conn.ended = "client-stalled"
        writer.transport.abort()
        raise Quit from None
