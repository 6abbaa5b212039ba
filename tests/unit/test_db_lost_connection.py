"""Which database failures are a lost connection (a 503 the client may retry,
decision 58) and which are not (a bug or a refusal, never hidden as 503)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.runtime.db import lost_connection


def wrapped(error: BaseException, *, invalidated: bool = False) -> DBAPIError:
    """As SQLAlchemy's asyncpg adapter raises it: its own error caused by asyncpg's."""
    adapter_error = Exception(str(error))
    adapter_error.__cause__ = error
    return DBAPIError("SELECT 1", None, adapter_error, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        wrapped(asyncpg.InterfaceError("connection is closed")),
        wrapped(Exception("anything"), invalidated=True),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_a_broken_or_refused_connection_is_lost(error: BaseException) -> None:
    assert lost_connection(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        IntegrityError("INSERT", None, Exception("duplicate key")),
        wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock")),
        ValueError("a bug"),
        FileNotFoundError(2, "No such file or directory"),
        wrapped(asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout")),
    ],
)
def test_other_failures_are_not(error: BaseException) -> None:
    assert not lost_connection(error)
